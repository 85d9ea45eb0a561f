// Property: a FlexLM debug log written from a known truth (debuglog-truth.ts) — restarts, DST both
// ways in several zones, clock steps back, midnights without TIMESTAMP, silent nights, token pools,
// forked daemons, names with spaces and UTF-8 — is read back to exactly that truth, and reading it
// line by line, in random byte chunks (half the time with a sink, as the parse worker reads), or with
// the parser and tracker saved and restored mid-way gives the same records.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FlexlmDebugLogSource } from "../../../collector/sources/flexlm-debuglog.ts";
import { LineSplitter } from "../../../collector/sources/line-splitter.ts";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import { SessionTracker, type TrackerState } from "../../../collector/sessions/session-tracker.ts";
import type { RecordBody } from "../../../collector/sessions/records.ts";
import { mulberry32 } from "../../../shared/random/mulberry32.ts";
import { CollectingSink } from "./collecting-sink.ts";
import { transitions, truthLog, type TruthDenial, type TruthSession } from "./debuglog-truth.ts";

const ZONES = ["Europe/Madrid", "America/New_York", "Australia/Sydney", "America/Santiago", "Australia/Lord_Howe", "UTC"];
const SOAK = process.env.SOAK === "1";
const RUNS = SOAK ? 1500 : 40;

interface Reading { records: RecordBody[]; stats: ReturnType<FlexlmDebugLogSource["stats"]> }

function byLines(lines: string[], zone: string, cut_s: number): Reading {
  const source = new FlexlmDebugLogSource({ name: "lic", timezone: zone });
  const tracker = new SessionTracker({ source: "lic", cut_s });
  const records: RecordBody[] = [];
  for (const line of lines) for (const e of source.push(line)) records.push(...tracker.apply(e));
  for (const e of source.end()) records.push(...tracker.apply(e));
  records.push(...tracker.finish());
  return { records, stats: source.stats() };
}

/**
 * The file's bytes in random chunks, blocks into the source, the tracker's output taken in small
 * batches; half the time with a sink, as the parse worker reads (checkouts and check-ins written to it).
 */
function byChunks(lines: string[], zone: string, cut_s: number, rand: () => number): RecordBody[] {
  const bytes = Buffer.from(lines.join(rand() < 0.5 ? "\n" : "\r\n") + "\n");
  const source = new FlexlmDebugLogSource({ name: "lic", timezone: zone });
  const tracker = new SessionTracker({ source: "lic", cut_s });
  const sink = rand() < 0.5 ? new CollectingSink((e) => tracker.feed(e)) : undefined;
  const splitter = new LineSplitter();
  const records: RecordBody[] = [];
  const take = () => { for (let b = tracker.take(7); b.length > 0; b = tracker.take(7)) records.push(...b); };
  for (let p = 0; p < bytes.length; ) {
    const q = Math.min(bytes.length, p + 1 + Math.floor(rand() * 3000));
    const events: SourceEvent[] = [];
    source.pushText(splitter.pushText(bytes.subarray(p, q)), events, sink);
    for (const e of events) tracker.feed(e);
    take();
    p = q;
  }
  for (const e of source.end()) tracker.feed(e);
  tracker.feedEnd();
  take();
  if (sink) seen.written += sink.written;
  return records;
}

/** Line by line, with the parser and the tracker saved to JSON and restored at a random line (a collector restart). */
function withRestart(lines: string[], zone: string, cut_s: number, at: number): RecordBody[] {
  let source = new FlexlmDebugLogSource({ name: "lic", timezone: zone });
  let tracker = new SessionTracker({ source: "lic", cut_s });
  const records: RecordBody[] = [];
  lines.forEach((line, i) => {
    if (i === at) {
      const saved = JSON.parse(JSON.stringify({ parser: source.save(), tracker: tracker.save() })) as { parser: unknown; tracker: TrackerState };
      source = new FlexlmDebugLogSource({ name: "lic", timezone: zone });
      source.restore(saved.parser);
      tracker = SessionTracker.restore("lic", saved.tracker);
    }
    for (const e of source.push(line)) records.push(...tracker.apply(e));
  });
  for (const e of source.end()) records.push(...tracker.apply(e));
  records.push(...tracker.finish());
  return records;
}

/** Whole sessions from their intervals, checking that the intervals of each are contiguous and only the last is final. */
function sessionsOf(records: RecordBody[]): { sessions: TruthSession[]; denials: TruthDenial[] } {
  const bySession = new Map<string, TruthSession>();
  const denials: TruthDenial[] = [];
  for (const r of records) {
    if (r.kind === "denial") denials.push({ daemon: r.data.daemon, feature: r.data.feature, user: r.data.user, host: r.data.host, at: r.data.at, reason: r.data.reason });
    if (r.kind !== "usage") continue;
    const d = r.data;
    const s = bySession.get(d.session);
    if (d.end <= d.start) throw new Error(`empty interval ${JSON.stringify(d)}`);
    if (s) {
      if (s.final || d.start !== s.end) throw new Error(`interval not following its session: ${JSON.stringify(d)}`);
      s.end = d.end;
      s.final = d.final;
    } else bySession.set(d.session, { daemon: d.daemon, feature: d.feature, ...(d.product !== undefined ? { product: d.product } : {}), user: d.user, host: d.host, count: d.count, start: d.start, end: d.end, final: d.final });
  }
  return { sessions: [...bySession.values()], denials };
}

const order = (a: object, b: object) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
const iso = (s: TruthSession) => ({ ...s, start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString() });

/** What the generated logs went through, over a run (so a run can show it covered each case). */
const seen = { steps: 0, restarts: 0, silences: 0, dstChanges: 0, pools: 0, forks: 0, undatedStarts: 0, written: 0 };
const windows = new Map<string, number[]>();

/** One generated log, read whole, in chunks and across a restart: each reading equals the truth. */
function readsBackTheTruth(logSeed: number, zone: string, year: number, n: number, cut_s: number): void {
  const rand = mulberry32(logSeed);
  const key = `${zone}|${year}`;
  if (!windows.has(key)) windows.set(key, transitions(zone, Date.UTC(year, 0, 1), Date.UTC(year + 1, 0, 1)));
  const dst = windows.get(key)!;
  const around = dst.length > 0 ? dst[Math.floor(rand() * dst.length)]! : Date.UTC(year, 5, 1);
  const start = Math.floor((around - rand() * 2 * 86_400_000) / 1000) * 1000;
  const truth = truthLog(rand, zone, start, n, dst);
  seen.steps += truth.steps;
  seen.restarts += truth.restarts;
  seen.silences += truth.silences;
  seen.dstChanges += truth.dstChanges;
  seen.pools += truth.sessions.filter((s) => s.product !== undefined).length;
  seen.forks += truth.lines.filter((l) => l.includes("(MLM_2)")).length;
  if (!truth.lines[0]!.includes("TIMESTAMP")) seen.undatedStarts++;

  const whole = byLines(truth.lines, zone, cut_s);
  expect(whole.stats.unknown_lines).toBe(0);
  expect(whole.stats.undated_lines).toBe(0);
  const got = sessionsOf(whole.records);
  expect(got.sessions.sort(order).map(iso)).toEqual(truth.sessions.sort(order).map(iso));
  expect(got.denials.sort(order)).toEqual(truth.denials.sort(order));
  expect(whole.stats.clock_steps).toBe(truth.steps);

  const exact = JSON.stringify(whole.records);
  expect(JSON.stringify(byChunks(truth.lines, zone, cut_s, rand))).toBe(exact);
  expect(JSON.stringify(withRestart(truth.lines, zone, cut_s, Math.floor(rand() * truth.lines.length)))).toBe(exact);
}

describe("flexlm-debuglog property: random logs of known truth", () => {
  it(`reads back the truth, whole, in chunks and across a restart (${RUNS} logs)`, () => {
    const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
    console.log(`debuglog property seed=${seed} (replay with SEED=${seed})`);
    fc.assert(fc.property(
      fc.nat(), fc.constantFrom(...ZONES), fc.integer({ min: 2019, max: 2030 }), fc.integer({ min: 200, max: SOAK ? 4000 : 1200 }), fc.constantFrom(300, 900, 3600, 7200),
      readsBackTheTruth,
    ), { seed, numRuns: RUNS });
    // Not a vacuous pass: the logs went through every case.
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(0);
  }, SOAK ? 3_600_000 : undefined); // 1,500 logs of up to 4,000 lines outlast the project's per-test bound on a busy machine

  // Found by SEED=500034: the clock set back twice between two lines, the second time at the end of
  // the log (21:28:18 → 21:09:17, no date after it). The truth took the first step alone as "printed
  // time still went forward" and ran its timeline back 19 min; the reader sees one step back.
  it("reads back a log whose clock was set back twice between the same two lines, at its end", () => {
    readsBackTheTruth(1087806443, "Europe/Madrid", 2019, 1173, 300);
  });

  // Found by SEED=139, 143, 163, 192, 1084, 500127: a log that starts inside the repeated hour of a
  // DST fall-back, before any date. Its first line, with nothing before it, was read in the hour's
  // first pass and the held lines after it followed: a session open across the end of the hour was
  // billed an hour more (2:17 → 3:07 as 110 min). Now the lines after it tell the pass (back-fill).
  // SEED=256108 (the last one): the first date came inside the hour too, and told no pass either.
  it.each([
    [116609932, "Australia/Sydney"], [1344719828, "Australia/Sydney"], [328374881, "Australia/Sydney"],
    [699458015, "Europe/Madrid"], [571674448, "Europe/Madrid"], [1053402887, "Europe/Madrid"], [211719197, "Europe/Madrid"],
  ])("reads back a log that starts in the second pass of a repeated hour, before any date (%i, %s)", (logSeed, zone) => {
    readsBackTheTruth(logSeed, zone, 2019, 200, 300);
  });

  // Found by SEED=77 and 171: a line read a few seconds before the line above it (the clock set back
  // by about the time between them). A check-in there came after the tracker had cut its session
  // past it (01:24:54 after a line at 01:25:04, cut at 01:25:00): 6 s too many and never final. And
  // a session still open at the end ends at the latest reading of its daemon, not its last line's.
  // SOAK=1 SEED=2: the clock set back right after such a line: time goes on from the latest line
  // read (as the reader does), not from the last line, 51 s before it.
  it.each([[1473246640, 561], [1278401669, 776], [2002750055, 2467]])("reads back a log with a line read just before the line above it (%i)", (logSeed, n) => {
    readsBackTheTruth(logSeed, "Europe/Madrid", 2019, n, 300);
  });
});
