// Backfill at size (issue #12): a 2,000,000-line log imported in two halves — the second a resume
// of the same file grown — takes about as long per half (the ratio is printed, not asserted: the
// machine is shared), keeps a read state of constant size, and appends every license-second once.
// And kill -9 at random moments of a backfill, on one thread and on the step worker by turns: each
// re-run goes on where the killed one stopped, and the chain ends up with every interval exactly
// once. SOAK=1: more kills.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { parseStrictJson, type ChainRecord, type UsageData } from "../../../shared/protocol/index.ts";
import { writeBacklogLog, type BacklogLog } from "../../support/backlog-log.ts";
import { collectorBundle, runCollector } from "../../support/collector-process.ts";
import { seededRandom, testSeed } from "../../support/seed.ts";
import { enrolledState } from "../../collector/cli/cli-io.ts";

const SOAK = process.env.SOAK === "1";
const DAY = 86_400_000;

let dir: string;
let script: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-backfill-backlog-"));
  script = await collectorBundle();
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Every usage interval in the log once; license-seconds per feature. */
async function logUsage(state: string): Promise<{ seconds: Record<string, number>; records: number }> {
  const { log } = await SegmentLog.open(join(state, "log"));
  const seconds: Record<string, number> = {};
  const seen = new Set<string>();
  let records = 0;
  try {
    for (let from = 1; from <= log.lastSeq();) {
      const entries = await log.read(from, { maxCount: 10_000, maxBytes: 16 << 20 });
      for (const e of entries) {
        const r = parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord;
        records++;
        if (r.kind !== "usage") continue;
        const u = r.data as UsageData;
        const key = `${u.session}@${u.start}`;
        if (seen.has(key)) throw new Error(`interval ${key} appended twice (seq ${e.seq})`);
        seen.add(key);
        seconds[u.feature] = (seconds[u.feature] ?? 0) + ((u.end - u.start) / 1000) * u.count;
      }
      from = entries.at(-1)!.seq + 1;
    }
  } finally {
    await log.close();
  }
  return { seconds, records };
}

const sum = (a: Map<string, number>, b: Map<string, number>) => Object.fromEntries([...new Set([...a.keys(), ...b.keys()])].sort().map((f) => [f, (a.get(f) ?? 0) + (b.get(f) ?? 0)]));
const sorted = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).sort());

/** Bytes of the read state files, and of everything under sources/ (with the appendices). */
async function stateBytes(state: string): Promise<{ states: number; all: number }> {
  let states = 0, all = 0;
  for (const name of await readdir(join(state, "sources"))) {
    const size = (await stat(join(state, "sources", name))).size;
    all += size;
    if (name.endsWith(".json")) states += size;
  }
  return { states, all };
}

describe("backfill of a big backlog", () => {
  it("a 2,000,000-line log in two halves: time per half about equal, read state of constant size, every license-second once", async () => {
    const state = join(dir, "big");
    await enrolledState(state);
    const file = join(dir, "lmgrd-2m.log");
    const half = 1_000_000;
    const first = await writeBacklogLog(file, { lines: half });
    const backfill = async () => {
      const t0 = performance.now();
      const r = await runCollector(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC", "--name", "lmgrd", "--state", state, "--json"], { script });
      expect(r.status, r.stderr).toBe(0);
      return { ms: performance.now() - t0, json: r.json! };
    };
    const a = await backfill();
    const stateAfterFirst = await stateBytes(state);
    const second: BacklogLog = await writeBacklogLog(file, { lines: half, append: true, startAt: Math.ceil((first.last + 1) / DAY) * DAY + DAY });
    const b = await backfill();
    const stateAfterSecond = await stateBytes(state);
    console.log(`backfill 2,000,000 lines (${((first.bytes + second.bytes) / 1e6).toFixed(0)} MB): first half ${(a.ms / 1000).toFixed(1)} s, second half (resumed) ${(b.ms / 1000).toFixed(1)} s, ratio ${(b.ms / a.ms).toFixed(2)}; read state ${stateAfterFirst.states} → ${stateAfterSecond.states} bytes, with its appendix ${stateAfterFirst.all} → ${stateAfterSecond.all}`);
    expect(a.json).toMatchObject({ resumed_from_byte: 0, lines: first.lines });
    expect(b.json).toMatchObject({ resumed_from_byte: first.bytes, lines: second.lines });
    // The read state holds open sessions and the parser's and the tracker's recent-window state, not
    // history: the same size after twice the log. Its appendix (the same-second ordinals of two
    // days, appended per step) starts a new generation at 8× its first line or 1 MiB: bounded too.
    expect(stateAfterSecond.states).toBeLessThan(64 * 1024);
    expect(stateAfterSecond.states).toBeLessThan(stateAfterFirst.states * 1.2 + 1024);
    expect(stateAfterSecond.all).toBeLessThan(2 * 1024 * 1024);
    const { seconds, records } = await logUsage(state);
    expect(records).toBe((a.json.appended as number) + (b.json.appended as number));
    expect(sorted(seconds)).toEqual(sum(first.truth, second.truth));
  }, 900_000);

  it("kill -9 at random moments of a backfill: each re-run goes on where the last stopped; every interval once", async () => {
    const state = join(dir, "killed");
    await enrolledState(state);
    const file = join(dir, "lmgrd-kill.log");
    const log = await writeBacklogLog(file, { lines: 300_000, seed: 77 });
    const random = seededRandom(testSeed("backfill kill loop"));
    // Kill moments scale with how long a whole backfill of this log takes here (a quiet machine does
    // it in well under a second, a loaded one in several): measured once, on a state of its own.
    const measured = join(dir, "killed-measure");
    await enrolledState(measured);
    const t0 = performance.now();
    expect(await backfillUntilKilled(measured, file, undefined)).toBe("done");
    const whole = performance.now() - t0;
    const kills = SOAK ? 40 : 6;
    let killed = 0;
    for (let attempt = 0; ; attempt++) {
      const killAfter = attempt < kills ? Math.floor(whole * (0.1 + random() * 0.6)) : undefined;
      // By turns on one thread and on the step worker (daemon/step-worker.ts): each goes on from
      // what the other was killed in the middle of.
      const outcome = await backfillUntilKilled(state, file, killAfter, attempt % 2 === 0 ? "always" : "never");
      if (outcome === "killed") killed++;
      else if (killed === 0 && attempt < kills) {
        // Done before the first kill landed (this run was quicker than the measured one: the parse
        // thread, a quieter moment): nothing was tested yet, so start over on a fresh state.
        await rm(state, { recursive: true, force: true });
        await enrolledState(state);
      } else break;
      expect(attempt).toBeLessThan(kills + 5);
    }
    console.log(`backfill kill loop: ${killed} kill -9s before a run completed`);
    expect(killed).toBeGreaterThan(0);
    const { seconds } = await logUsage(state);
    expect(sorted(seconds)).toEqual(sorted(Object.fromEntries(log.truth)));
    expect((await runCollector(["verify", "--state", state, "--json"], { script })).status).toBe(0);
  }, 900_000);
});

function backfillUntilKilled(state: string, file: string, killAfterMs: number | undefined, thread = "never"): Promise<"killed" | "done"> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, "backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC", "--state", state, "--json"], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, TALLY_PARSE_THREAD: thread } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), killAfterMs);
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal === "SIGKILL") resolve("killed");
      else if (code === 0) resolve("done");
      else reject(new Error(`backfill exited ${code}: ${stderr}`));
    });
  });
}
