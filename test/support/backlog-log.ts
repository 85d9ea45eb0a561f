// A big FlexLM debug log, made fast: a vendor daemon's life — TIMESTAMP anchors every 6 hours,
// short checkouts (1–30 minutes, some of several licenses) among many lines that bill nothing
// (UNSUPPORTED requests, SLOG statistics), every session closed by the end. One block of up to
// 100,000 lines (a few days) is simulated; the log repeats it, each copy moved on by whole days
// (only its TIMESTAMP lines carry dates), so a 2-million-line log costs one block's simulation.
// Knows its truth: license-seconds per feature. For the backlog tests and the collector-backlog
// benchmark.
import { open } from "node:fs/promises";
import { mulberry32 } from "../../shared/random/mulberry32.ts";

export interface BacklogLog {
  lines: number;
  bytes: number;
  sessions: number;
  /** license-seconds per feature of every session (all are closed at the end). */
  truth: Map<string, number>;
  first: number;
  last: number;
}

export interface BacklogOptions {
  lines: number;
  /** Instead of `lines` (then ignored): about this many bytes (copies of a 100,000-line block). */
  bytes?: number;
  seed?: number;
  /** ms, a midnight UTC (default 2024-01-01). */
  startAt?: number;
  /** One checkout in this many lines, about (default 30). */
  linesPerSession?: number;
  /** Append to the file (a log that grew): start `startAt` after its last day. */
  append?: boolean;
}

const FEATURES = ["MATLAB", "SIMULINK", "Signal_Toolbox", "Optimization_Toolbox", "Statistics_Toolbox"];
const HOUR = 3600_000;
const DAY = 86_400_000;
const BLOCK_LINES = 100_000;

interface Block { text: string; lines: number; sessions: number; days: number; truth: Map<string, number>; span: number }

export async function writeBacklogLog(file: string, options: BacklogOptions): Promise<BacklogLog> {
  const start = options.startAt ?? Date.UTC(2024, 0, 1);
  // Sized in bytes: whole blocks (`lines` is then ignored).
  const blockLines = options.bytes !== undefined ? BLOCK_LINES : Math.min(BLOCK_LINES, options.lines);
  if (blockLines < 10) throw new RangeError(`a backlog log needs at least 10 lines or a size in bytes (lines: ${options.lines})`);
  const block = simulateBlock(blockLines, options.seed ?? 42, options.linesPerSession ?? 30);
  const copies = Math.max(1, Math.round(options.bytes !== undefined ? options.bytes / Buffer.byteLength(block.text) : options.lines / block.lines));
  const handle = await open(file, options.append ? "a" : "w");
  let bytes = 0;
  try {
    for (let copy = 0; copy < copies; copy++) {
      const base = start + copy * block.days * DAY;
      const text = block.text.replace(/\{D\+(\d+)\}/g, (_, n: string) => {
        const d = new Date(base + Number(n) * DAY);
        return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
      });
      bytes += Buffer.byteLength(text);
      await handle.write(text);
    }
  } finally {
    await handle.close();
  }
  const truth = new Map([...block.truth].map(([f, s]) => [f, s * copies]));
  return { lines: block.lines * copies, bytes, sessions: block.sessions * copies, truth, first: start, last: start + (copies - 1) * block.days * DAY + block.span };
}

/** One self-contained block starting at day 0, 00:00:00; dates as `{D+n}` placeholders. */
function simulateBlock(target: number, seed: number, every: number): Block {
  const random = mulberry32(seed);
  const truth = new Map<string, number>();
  const held: Array<{ feature: string; user: string; count: number; start: number; end: number }> = [];
  const out: string[] = [];
  let t = 0;
  let nextStamp = 0;
  let sessions = 0;
  const stamp = (at: number) => out.push(`${clock(at)} (MLM) TIMESTAMP {D+${Math.floor(at / DAY)}}\n`);
  // `held` is kept sorted by end, so the next to close is first.
  const closeDue = (until: number) => {
    while (held.length > 0 && held[0]!.end <= until) {
      const s = held.shift()!;
      out.push(`${clock(s.end)} (MLM) IN: "${s.feature}" ${s.user}  ${s.count > 1 ? `(${s.count} licenses)` : ""}`.trimEnd() + "  \n");
      truth.set(s.feature, (truth.get(s.feature) ?? 0) + ((s.end - s.start) / 1000) * s.count);
    }
  };
  while (out.length < target - held.length - 1) {
    t += (1 + Math.floor(random() * 4)) * 1000;
    closeDue(t);
    if (t >= nextStamp) {
      stamp(t);
      nextStamp = t + 6 * HOUR;
      continue;
    }
    const r = random();
    if (r < 1 / every && held.length < 200) {
      const feature = FEATURES[Math.floor(random() * random() * FEATURES.length)]!;
      const user = `user${Math.floor(random() * 500)}@pc-${Math.floor(random() * 90)}`;
      const count = random() < 0.1 ? 2 + Math.floor(random() * 6) : 1;
      // A user holds one checkout of a feature at a time here, so IN pairs with its OUT.
      if (held.some((s) => s.user === user && s.feature === feature)) continue;
      const session = { feature, user, count, start: t, end: t + (60 + Math.floor(random() * 1740)) * 1000 };
      let at = held.length;
      while (at > 0 && held[at - 1]!.end > session.end) at--;
      held.splice(at, 0, session);
      sessions++;
      out.push(`${clock(t)} (MLM) OUT: "${feature}" ${user}  ${count > 1 ? `(${count} licenses)` : ""}`.trimEnd() + "  \n");
    } else if (r < 0.6) {
      out.push(`${clock(t)} (MLM) UNSUPPORTED: "MATLAB_Distrib_Comp_Engine" (BF04C1B183DD400E147F) user${Math.floor(random() * 500)}@pc-3  (No such feature exists. (-5,346))\n`);
    } else {
      out.push(`${clock(t)} (MLM) (@MLM-SLOG@) ${String(Math.floor(random() * 1e8)).padStart(8, "0")} ms at statistics line ${out.length}\n`);
    }
  }
  const span = Math.max(t, ...held.map((s) => s.end));
  closeDue(Number.POSITIVE_INFINITY);
  return { text: out.join(""), lines: out.length, sessions, days: Math.floor(span / DAY) + 1, truth, span };
}

function clock(t: number): string {
  const s = Math.floor(t / 1000) % 86_400;
  return `${String(Math.floor(s / 3600)).padStart(2, " ")}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
}
