// Whether a file is of the kind it is given as (`parse`, `backfill`, `run`'s log sources). Read as
// the wrong kind — a FlexLM debug log given as an RLM report log, an lmstat output as rlmstat — every
// line is unknown and nothing is billed, and the import still succeeded (exit 0, 0 records): the
// file's usage was silently left out, and marked imported. So the first lines (HEAD_BYTES) are read
// as the kind given before anything is written; when not one of them is a line of that kind, the
// file is refused, naming the kind whose lines they are when one recognises them.
import { CollectorError } from "../errors.ts";
import { LineSplitter } from "./line-splitter.ts";
import { readBlock } from "./line-blocks.ts";
import { decodeOutput } from "./snapshot-output.ts";
import { sourceKinds } from "./registry.ts";
import type { SourceEvent } from "./events.ts";

/** Bytes of a file's start read for the check: enough for any header, and hundreds of log lines. */
export const HEAD_BYTES = 64 * 1024;

export interface KindProblem {
  code: "wrong_kind" | "unrecognised_file";
  /** What is wrong, without the fix (callers name theirs: an option, a config field). */
  message: string;
  /** wrong_kind: the kind most of the lines are. */
  looks_like?: string;
}

/**
 * What is wrong with reading a file that starts with `head` (its first bytes) as `kind`, or undefined.
 * Refused: a file of whose first lines (not blank) under a tenth are lines of that kind, while at least
 * half are another kind's (wrong_kind, naming it); or not one is of that kind nor most of any other
 * (unrecognised_file). Nothing to refuse in a file with no line yet (empty, blank: an idle output).
 * `what`: the file, as messages name it.
 */
export function kindProblem(kind: string, head: Uint8Array, encoding: string | undefined, what: string): KindProblem | undefined {
  const mine = recognisedLines(kind, head, encoding);
  // A few lines any text has (a dashed rule, `key: value`, a blank-separated header) can read as a kind's.
  if (mine === undefined || mine.lines === 0 || 10 * mine.recognised >= mine.lines) return undefined;
  let best: { kind: string; recognised: number } | undefined;
  for (const other of Object.keys(sourceKinds)) {
    if (other === kind) continue;
    const r = recognisedLines(other, head, encoding);
    // Named only when most of the lines are its own: a few lines any text has (a dashed rule, a
    // `key: value`) would send the user to a kind that bills nothing either.
    if (r !== undefined && 2 * r.recognised >= r.lines && r.recognised > (best?.recognised ?? 0)) best = { kind: other, recognised: r.recognised };
  }
  const of = mine.recognised === 0 ? `none of the first ${mine.lines} lines of ${what} is a line of ${kind}` : `only ${mine.recognised} of the first ${mine.lines} lines of ${what} read as lines of ${kind}`;
  if (best !== undefined && best.recognised > mine.recognised) {
    return { code: "wrong_kind", looks_like: best.kind, message: `${of}: they are ${best.kind} lines (${best.recognised} of them read as such), and read as ${kind} ${mine.recognised === 0 ? "nothing" : "next to nothing"} in it would be billed` };
  }
  if (mine.recognised > 0) return undefined; // some lines of its own, and no kind's more: read as given
  return { code: "unrecognised_file", message: `${of}, nor of any kind this collector reads: nothing in it would be billed. Is it the file meant (an output of the license server's tool, or its log)?` };
}

/** `run`'s refusal of source `source`'s log (log-first-read.ts) or polled output (poller.ts) of another kind. */
export function kindInConfig(problem: KindProblem, source: string): CollectorError {
  return new CollectorError("bad_config", withFix(problem, "in the config, sources[].kind:"), { reason: problem.code, source, ...(problem.looks_like ? { looks_like: problem.looks_like } : {}) });
}

/** `problem` as a sentence that names its fix: `how` gives a kind (`--source`, `sources[].kind`). */
export function withFix(problem: KindProblem, how: string): string {
  return problem.looks_like === undefined ? problem.message : `${problem.message}: give its kind (${how} ${problem.looks_like})`;
}

/**
 * Of `head`'s complete lines read as `kind`: how many are not blank, and how many of those the kind
 * recognised (not counted unknown). Undefined when the kind cannot read it at all (it threw).
 */
function recognisedLines(kind: string, head: Uint8Array, encoding: string | undefined): { lines: number; recognised: number } | undefined {
  const factory = sourceKinds[kind];
  if (factory === undefined) return undefined;
  const options = { name: kind, timezone: "UTC" }; // which lines a kind recognises does not depend on the zone
  try {
    if (factory.shape === "lines") {
      const text = new LineSplitter(encoding).pushText(head);
      const source = factory.create(options);
      const events: SourceEvent[] = [];
      readBlock(source, text, events);
      return counted(text, source.stats().unknown_lines);
    }
    const text = decodeOutput(head, encoding);
    return counted(text, factory.create(options).parse(text, 0).stats.unknown_lines);
  } catch {
    return undefined;
  }
}

function counted(text: string, unknown: number): { lines: number; recognised: number } {
  let lines = 0;
  for (const line of text.split("\n")) if (/\S/.test(line)) lines++;
  return { lines, recognised: Math.max(0, lines - unknown) };
}
