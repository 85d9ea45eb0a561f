// Plumbing every snapshot parser shares: command output → clean lines, and the parse counters
// (ParseStats) with a few verbatim samples of lines no rule understood.
import type { ParseStats, SnapshotResult } from "./events.ts";
import { detached } from "./name-table.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";

const MAX_SAMPLES = 5;

/**
 * Lines of one command output, without BOM, line terminators (LF, CRLF or CR) or trailing
 * blanks (FORMATS.md §0: `PID: 11432 `, tabs after quoted values), one at a time: a large output (a
 * 50,000-holder lmstat) is never held as an array of line strings as well as the text.
 * (`trimEnd` strips exactly what `\s+$` does.)
 */
export function* outputLines(text: string): Generator<string> {
  let start = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let cr = text.indexOf("\r", start);
  for (;;) {
    let lf = text.indexOf("\n", start);
    if (lf < 0) lf = text.length;
    if (cr >= 0 && cr < start) cr = text.indexOf("\r", start);
    const end = cr >= 0 && cr < lf ? cr : lf;
    if (end === text.length) break;
    yield text.slice(start, end).trimEnd();
    start = end === cr && text.charCodeAt(end + 1) === 10 ? end + 2 : end + 1;
  }
  yield text.slice(start).trimEnd();
}

/**
 * A command output's bytes as text. A byte-order mark decides over the configured encoding, as
 * WHATWG's decode does: Windows PowerShell 5 writes `lmutil lmstat -a > out.txt` as UTF-16LE with a
 * BOM, which read as UTF-8 is nothing but unknown lines and no usage.
 */
export function decodeOutput(bytes: Uint8Array, encoding = "utf-8"): string {
  return new TextDecoder(markedEncoding(bytes) ?? encoding).decode(bytes);
}

/** The encoding a byte-order mark at the start of `bytes` names, if any. */
export function markedEncoding(bytes: Uint8Array): "utf-16le" | "utf-16be" | "utf-8" | undefined {
  const [a, b, c] = bytes;
  return a === 0xff && b === 0xfe ? "utf-16le" : a === 0xfe && b === 0xff ? "utf-16be" : a === 0xef && b === 0xbb && c === 0xbf ? "utf-8" : undefined;
}

export class ParseCounter {
  private lines = 0;
  private unknown = 0;
  private readonly samples: string[] = [];

  line(): void {
    this.lines++;
  }

  unknownLine(line: string): void {
    this.unknown++;
    // A copy: a line cut out of the output would keep the whole output alive with the stats.
    if (this.samples.length < MAX_SAMPLES) this.samples.push(detached(line));
  }

  stats(events: number): ParseStats {
    return { lines: this.lines, events, unknown_lines: this.unknown, unknown_samples: [...this.samples] };
  }
}

/** Adds `n` to a per-feature tally. */
export function tally(into: Record<string, number>, feature: string, n: number): void {
  into[feature] = (into[feature] ?? 0) + n;
}

/** What every snapshot parse starts from: the snapshot time (whole seconds), a counter, an empty result. */
export function startSnapshot(takenAt: number): { at: number; counter: ParseCounter; result: SnapshotResult } {
  const counter = new ParseCounter();
  return { at: wholeSecond(takenAt), counter, result: { events: [], stats: counter.stats(0), stated_in_use: {}, queued: [], reservations: [] } };
}

export interface InUseDifference {
  /** What the output states as in use (absent: it states no total). */
  stated?: number;
  /** Licenses on the lines it lists: holders plus reservations. */
  listed: number;
}

/**
 * Features whose stated in-use total differs from the lines listed (a shortened or edited output
 * must be visible, not silently under-billed). Reservations count as listed: FlexLM counts them in use.
 */
export function inUseDifferences(result: SnapshotResult): Record<string, InUseDifference> {
  const listed: Record<string, number> = {};
  for (const e of result.events) if (e.type === "snapshot") for (const h of e.holders) tally(listed, h.feature, h.count);
  for (const r of result.reservations) tally(listed, r.feature, r.count);
  const out: Record<string, InUseDifference> = {};
  for (const feature of new Set([...Object.keys(result.stated_in_use), ...Object.keys(listed)])) {
    const stated = result.stated_in_use[feature];
    const have = listed[feature] ?? 0;
    if (stated !== have) out[feature] = stated === undefined ? { listed: have } : { stated, listed: have };
  }
  return out;
}
