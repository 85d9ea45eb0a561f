// The daemon and `backfill` read a log a bounded step at a time (daemon/line-reader.ts): a backlog is
// read a slice at a time and a long session's intervals come out in batches, with the rest kept in
// the saved state — so a restart between steps loses nothing and counts nothing twice, and memory
// does not grow with the backlog.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LineReader, type LineReadState } from "../../../collector/daemon/line-reader.ts";
import type { RecordBody } from "../../../collector/sessions/records.ts";

const DAY = 86_400_000;

/** Sixty days of an MLM log: one session open throughout, short ones every few minutes, a TIMESTAMP every 6 h. */
function backlog(): { text: string; lastLine: number } {
  const lines: string[] = [];
  const start = Date.UTC(2024, 0, 1);
  const hms = (t: number) => new Date(t).toISOString().slice(11, 19);
  const date = (t: number) => { const d = new Date(t); return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`; };
  lines.push(`${hms(start)} (MLM) TIMESTAMP ${date(start)}`, `${hms(start + 1000)} (MLM) OUT: "MATLAB" long runner@ws-1  `);
  let lastLine = start;
  for (let t = start + 60_000, i = 0; t < start + 60 * DAY; t += 240_000, i++) {
    if (i % 90 === 0) lines.push(`${hms(t)} (MLM) TIMESTAMP ${date(t)}`);
    lines.push(`${hms(t)} (MLM) OUT: "SIMULINK" user${i % 7}@pc${i % 5}  `, `${hms(t + 60_000)} (MLM) IN: "SIMULINK" user${i % 7}@pc${i % 5}  `);
    // Now and then two sessions of one holder in one second: their ids differ by the same-second ordinal.
    if (i % 50 === 0) lines.push(`${hms(t + 1000)} (MLM) OUT: "SIMULINK" twin@pc9  `, `${hms(t + 1000)} (MLM) OUT: "SIMULINK" twin@pc9  `, `${hms(t + 2000)} (MLM) IN: "SIMULINK" twin@pc9  `, `${hms(t + 3000)} (MLM) IN: "SIMULINK" twin@pc9  `);
    lastLine = t + 60_000;
  }
  return { text: lines.join("\n") + "\n", lastLine };
}

/** `apart`: each step's state is saved as the daemon's journal saves it (stateApart), the same-second
 *  table kept in a log of its changes, and a restart restores from the state and that log. */
async function follow(file: string, now: number, restartEvery: number, apart = false): Promise<{ records: RecordBody[]; steps: number; biggest: number }> {
  const open = (saved?: LineReadState, appendix?: string) => LineReader.open("mlm", "flexlm-debuglog", file, { timezone: "UTC", encoding: "utf-8", cut_s: 300 }, saved, appendix === undefined ? {} : { appendix });
  let reader = open();
  let log = "";
  const records: RecordBody[] = [];
  let steps = 0, biggest = 0, caughtUp: boolean;
  do {
    const step = await reader.read(64 * 1024, 1000);
    records.push(...step.bodies);
    biggest = Math.max(biggest, step.bodies.length);
    caughtUp = step.caughtUp;
    let saved: LineReadState | undefined;
    if (apart) {
      const { state, apart: change } = reader.stateApart();
      log = change.added === null ? `${JSON.stringify(change.table())}\n` : `${log}${JSON.stringify(change.added)}\n`;
      saved = JSON.parse(JSON.stringify(state)) as LineReadState;
    }
    if (++steps % restartEvery === 0) { // the collector restarts: everything comes back from the saved state
      saved ??= JSON.parse(JSON.stringify(reader.state())) as LineReadState;
      await reader.close();
      reader = apart ? open(saved, log) : open(saved);
    }
  } while (!caughtUp);
  records.push(...reader.cut(now)); // before a sync
  await reader.close();
  return { records, steps, biggest };
}

const licenseSeconds = (rs: RecordBody[]) => rs.reduce((a, r) => a + (r.kind === "usage" ? ((r.data.end - r.data.start) / 1000) * r.data.count : 0), 0);

describe("LineReader (run, backfill)", () => {
  it("reads a backlog in bounded steps, and a restart between any two steps changes nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tally-followed-"));
    const file = join(dir, "lmgrd.log");
    const { text, lastLine } = backlog();
    writeFileSync(file, text);
    const now = Date.UTC(2024, 2, 1);
    const straight = await follow(file, now, Infinity);
    const restarted = await follow(file, now, 7);
    const apart = await follow(file, now, 5, true);
    expect(straight.steps).toBeGreaterThan(30);
    expect(apart.records).toEqual(straight.records);
    const twins = straight.records.filter((r) => r.kind === "usage" && r.data.user === "twin");
    expect(new Set(twins.map((r) => r.kind === "usage" && r.data.session)).size).toBe(twins.length);
    expect(straight.biggest).toBeLessThanOrEqual(1000);
    expect(restarted.records).toEqual(straight.records);
    // The long session: 60 days of 5-minute intervals up to a minute and a second short of the last line.
    const long = straight.records.filter((r) => r.kind === "usage" && r.data.user === "long runner");
    expect(long.length).toBeGreaterThan(17_000);
    expect(licenseSeconds(long)).toBe((lastLine - 61_000 - (Date.UTC(2024, 0, 1) + 1000)) / 1000);
  });
});
