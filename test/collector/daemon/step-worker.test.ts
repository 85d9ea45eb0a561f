// A big backlog (`backfill` of a large file, the daemon's first start on a long log) is read on a
// second thread (daemon/step-worker.ts): the same steps, the same records and the same saved state
// after every step as on one thread — so an import stopped anywhere goes on from its saved state on
// either. At the step that catches up, the reader takes the reading back: lines written after it, and
// a rotation, are read as one thread reads them. The worker's failures reach the caller as ParseWorkerError.
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../../bench/suites/debuglog-parse.ts";
import { LineReader, type LineReadState } from "../../../collector/daemon/line-reader.ts";
import { SLICE_BYTES } from "../../../collector/daemon/line-slices.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { ParseWorkerError } from "../../../collector/sources/worker-link.ts";
import { collectorBundle } from "../../support/collector-process.ts";
import { enrolledState } from "../cli/cli-io.ts";

const settings = { timezone: "Europe/Madrid", encoding: "utf-8", cut_s: 3600 };
const STEP_BYTES = 256 * 1024, STEP_RECORDS = 2000;

/**
 * A file read once as `backfill` reads it (file-import.ts): steps until caught up, the unterminated
 * rest, the end, the queue taken. Every step's records and saved state (as JSON) are returned; every
 * `restartEvery` steps the reader is closed and opened again from that state, on a second thread
 * or not as `threadAt(restart)` says.
 */
async function backfill(file: string, threadAt: (restart: number) => boolean, restartEvery = Infinity, size = { bytes: STEP_BYTES, records: STEP_RECORDS }): Promise<string[]> {
  const out: string[] = [];
  let restarts = 0;
  const open = (saved?: LineReadState) => LineReader.open("mlm", "flexlm-debuglog", file, settings, saved, { thread: threadAt(restarts) });
  let reader = open();
  const stepped = (bodies: unknown[]) => out.push(JSON.stringify(bodies), JSON.stringify(reader.state()));
  try {
    for (let steps = 1; ; steps++) {
      const step = await reader.read(size.bytes, size.records);
      stepped(step.bodies);
      if (step.caughtUp) break;
      if (steps % restartEvery === 0) {
        const saved = JSON.parse(JSON.stringify(reader.state())) as LineReadState;
        await reader.close();
        restarts++;
        reader = open(saved);
      }
    }
    const rest = await reader.readRest();
    out.push(`rest ${rest.lines}`);
    reader.finish();
    do stepped(reader.take(size.records));
    while (reader.queued);
  } finally {
    await reader.close();
  }
  return out;
}

describe("backfill on a second thread", () => {
  let dir: string, file: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-step-worker-"));
    file = join(dir, "lmgrd.log");
    await generate(file, 3 * 1024 * 1024);
    appendFileSync(file, ` 9:00:00 (MLM) OUT: "MATLAB" last@pc-1`); // an unterminated last line: read by readRest
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads the same steps, records and saved states as one thread", async () => {
    const one = await backfill(file, () => false);
    const two = await backfill(file, () => true);
    expect(one.length).toBeGreaterThan(40);
    expect(one).toContain("rest 1");
    expect(two).toEqual(one);
  });

  it("goes on from any saved state on either thread", async () => {
    // Restarted every few steps, the reader on one thread or the other by turns: the same as
    // restarted at the same steps on one thread throughout, step for step and state for state.
    const one = await backfill(file, () => false, 3);
    expect(await backfill(file, (r) => r % 2 === 0, 3)).toEqual(one); // threaded, one thread, threaded…
  });

  it("ends a step at the slice whose records reach the budget: a saved state never holds more than one slice's records", async () => {
    // Steps of 4 slices with a budget smaller than one slice's records (~100 licenses held, cut
    // hourly: some 4,000 records a slice): before, a step read all 4 slices and left ~14,000 records
    // queued — in its saved state, cloned and written at every step; a site with thousands of
    // licenses held left 3 × the budget there at every step of a 4 MiB default.
    const dense = { bytes: 4 * SLICE_BYTES, records: 1500 };
    const one = await backfill(file, () => false, Infinity, dense);
    const steps = (out: string[]) => {
      const pairs = out.filter((x) => !x.startsWith("rest"));
      return Array.from({ length: pairs.length / 2 }, (_, i) => ({ bodies: JSON.parse(pairs[2 * i]!) as unknown[], state: JSON.parse(pairs[2 * i + 1]!) as LineReadState }));
    };
    const queuedOf = (state: LineReadState) => (state.tracker.queued ?? []).reduce((n, q) => n + (q.kind === "run" ? Math.ceil((q.to - q.from) / 3_600_000) + 1 : 1), 0);
    const slice = await backfill(file, () => false, Infinity, { bytes: SLICE_BYTES, records: 1e9 }); // a step a slice, every record taken
    const perSlice = Math.max(...steps(slice).map((s) => s.bodies.length));
    const queued = steps(one).map((s) => queuedOf(s.state));
    expect(perSlice).toBeGreaterThan(dense.records);
    expect(Math.max(...queued)).toBeGreaterThan(0);
    expect(Math.max(...queued)).toBeLessThanOrEqual(perSlice);
    // The same records in the same order whatever the steps, and the same steps on the worker.
    const bodies = (out: string[]) => steps(out).flatMap((s) => s.bodies.map((b) => JSON.stringify(b)));
    expect(bodies(one)).toEqual(bodies(slice));
    expect(await backfill(file, () => true, Infinity, dense)).toEqual(one);
    expect(await backfill(file, (r) => r % 2 === 1, 2, dense)).toEqual(await backfill(file, () => false, 2, dense));
  });

  it("reads on itself after the step that caught up: lines appended, then a rotation", async () => {
    const followed = async (thread: boolean) => {
      const log = join(dir, `followed-${thread}.log`);
      writeFileSync(log, "");
      appendFileSync(log, await import("node:fs/promises").then((fs) => fs.readFile(file)));
      const reader = LineReader.open("mlm", "flexlm-debuglog", log, settings, undefined, { thread });
      const out: string[] = [];
      const until = async () => {
        for (let caughtUp = false; !caughtUp; ) {
          const step = await reader.read(STEP_BYTES, STEP_RECORDS);
          out.push(JSON.stringify(step.bodies), JSON.stringify(reader.state()));
          caughtUp = step.caughtUp;
        }
      };
      try {
        await until();
        // Written, then rotated, right after the step that caught up: the old file's last lines are
        // still read (the reader kept it open when it took the reading over), then the new file.
        appendFileSync(log, `\n 9:01:00 (MLM) IN: "MATLAB" last@pc-1\n 9:02:00 (MLM) OUT: "SIMULINK" after@pc-2\n 9:03:00 (MLM) IN: "SIMULINK" after@pc-2\n`);
        renameSync(log, `${log}.1`);
        writeFileSync(log, ` 9:04:00 (MLM) OUT: "MATLAB" new@pc-3\n`);
        await until();
        await until();
        out.push(JSON.stringify(reader.cut(Date.UTC(2022, 0, 5))));
      } finally {
        await reader.close();
      }
      return out.map((x) => x.replaceAll(`followed-${thread}`, "followed").replace(/"(dev|ino)":\d+/g, '"$1":0'));
    };
    const one = await followed(false);
    expect(one.join("\n")).toMatch(/"user":"after"[^}]*"final":true/); // its IN was in the rotated file
    expect(one.join("\n")).toContain('"user":"new"');
    expect(await followed(true)).toEqual(one);
  });

  const NODE20 = ["/usr/local/bin/node", "/usr/bin/node"].find((p) => existsSync(p) && spawnSync(p, ["--version"], { encoding: "utf8" }).stdout.startsWith("v20."));
  it("backfill in the one-file bundle (on Node 20 where the machine has it) appends the same records on the step worker", async () => {
    const script = await collectorBundle();
    const backfilled = async (thread: string) => {
      const state = join(dir, `state-${thread}`);
      await enrolledState(state);
      const run = spawnSync(NODE20 ?? process.execPath, [script, "backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "Europe/Madrid", "--state", state, "--json"], { encoding: "utf8", env: { ...process.env, TALLY_PARSE_THREAD: thread } });
      expect(run.stderr).not.toMatch(/error/i);
      expect(run.status).toBe(0);
      const { log } = await SegmentLog.open(join(state, "log"));
      const entries = await log.read(1, { maxCount: 1_000_000, maxBytes: 1 << 30 });
      await log.close();
      const bodies = entries.map((e) => { const r = JSON.parse(new TextDecoder().decode(e.payload)) as { kind: string; data: unknown }; return JSON.stringify([r.kind, r.data]); });
      return { json: JSON.parse(run.stdout) as { appended: number; lines: number }, bodies };
    };
    const one = await backfilled("never");
    const two = await backfilled("always");
    expect(one.json.appended).toBeGreaterThan(10_000);
    expect(two.json).toEqual(one.json);
    expect(two.bodies).toEqual(one.bodies);
  }, 120_000);

  it("reports the worker's failure as ParseWorkerError, and every step reads the same size", async () => {
    const gone = LineReader.open("mlm", "flexlm-debuglog", join(dir, "nothing-here"), settings, undefined, { thread: true });
    const missing = await gone.read(STEP_BYTES);
    expect(missing).toMatchObject({ missing: true, caughtUp: true, lines: 0 });
    await gone.close();

    const reader = LineReader.open("mlm", "flexlm-debuglog", file, settings, undefined, { thread: true });
    await reader.read(STEP_BYTES);
    await expect(reader.read(STEP_BYTES * 2)).rejects.toThrow(RangeError);
    await reader.close();

    const bad = LineReader.open("mlm", "flexlm-debuglog", dir, settings, undefined, { thread: true }); // a directory: the worker's read fails
    await expect(bad.read(STEP_BYTES)).rejects.toBeInstanceOf(ParseWorkerError);
    await bad.close();
  });
});
