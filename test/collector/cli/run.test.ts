// `run --once`: one daemon round. Follows a configured debug log, appends its usage and a
// heartbeat, records source health for `status`, and stays offline-tolerant (exit 0 with the
// edge unreachable). Restarted, it appends nothing twice.
import { mkdtemp, readFile, rm, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageData } from "../../../shared/protocol/index.ts";
import { freePort } from "../../support/local-edge.ts";
import { sharedFixtures } from "../sources/fixture-paths.ts";
import { cli, enrolledState, logRecords, runOnce } from "./cli-io.ts";

const ANSYS = join(sharedFixtures, "flexlm/debuglog-justbennet-ansys.log");

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-run-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("run --once", () => {
  it("follows the configured log across restarts, appending each interval once, plus one heartbeat per round", async () => {
    const state = join(dir, "site");
    await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
    const lines = (await readFile(ANSYS, "utf8")).split("\n");
    const logFile = join(dir, "ansys.log");
    await writeFile(logFile, lines.slice(0, 1500).join("\n") + "\n");
    const config = join(dir, "config.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: "ansys", kind: "flexlm-debuglog", file: logFile, timezone: "UTC" }], heartbeat_s: 300 }));
    const run = () => runOnce(config, state);

    const first = await run();
    expect(first.status).toBe(0); // the edge is unreachable: collecting goes on
    expect(first.stderr).toMatch(/offline: edge unreachable/);
    const afterFirst = await logRecords(state);
    expect(afterFirst.filter((r) => r.kind === "heartbeat")).toHaveLength(1);
    expect(afterFirst.find((r) => r.kind === "heartbeat")!.data).toMatchObject({ sources: [{ source: "ansys", up: true }] });
    expect(afterFirst.filter((r) => r.kind === "usage").length).toBeGreaterThan(0);
    expect(first.json).toMatchObject({ appended: afterFirst.length });

    const idle = await run();
    expect(idle.json).toMatchObject({ appended: 1 }); // only the heartbeat: nothing new in the file

    await appendFile(logFile, lines.slice(1500).join("\n"));
    await run();
    const all = await logRecords(state);
    const seen = new Set<string>();
    for (const r of all.filter((x) => x.kind === "usage")) {
      const d = r.data as UsageData;
      expect(d.source).toBe("ansys");
      const key = `${d.session}@${d.start}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    expect(all.filter((r) => r.kind === "heartbeat")).toHaveLength(3);

    const status = await cli(["status", "--state", state, "--json"]);
    expect(status.json).toMatchObject({ pending: all.length, sources: [{ source: "ansys", kind: "flexlm-debuglog", up: true }] });
  });

  it("start_at end: a first run that read nothing keeps its place, so the next run reads what was written in between (and nothing before)", async () => {
    const state = join(dir, "at-end");
    await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
    const logFile = join(dir, "at-end.log");
    await writeFile(logFile, ' 8:00:00 (lmgrd) TIMESTAMP 1/10/2022\n 9:00:00 (MLM) OUT: "MATLAB" ann@pc1\n10:30:00 (MLM) IN: "MATLAB" ann@pc1\n');
    const config = join(dir, "at-end.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file: logFile, timezone: "UTC", start_at: "end" }] }));
    const run = () => runOnce(config, state);
    expect((await run()).json).toMatchObject({ appended: 1 }); // the heartbeat: the history is not read
    await appendFile(logFile, '11:00:00 (MLM) OUT: "MATLAB" bob@pc2\n11:20:00 (MLM) IN: "MATLAB" bob@pc2\n14:00:00 (lmgrd) TIMESTAMP 1/10/2022\n');
    await run();
    const usage = (await logRecords(state)).filter((r) => r.kind === "usage").map((r) => r.data as UsageData);
    expect(usage.map((d) => [d.user, new Date(d.start).toISOString(), new Date(d.end).toISOString(), d.final])).toEqual([["bob", "2022-01-10T11:00:00.000Z", "2022-01-10T11:20:00.000Z", true]]);
  });

  it("refuses a config without sources (exit 2, bad_config)", async () => {
    const state = join(dir, "bad");
    await enrolledState(state);
    const config = join(dir, "empty.json");
    await writeFile(config, JSON.stringify({ sources: [] }));
    const r = await cli(["run", "--config", config, "--once", "--state", state, "--json"]);
    expect(r.status).toBe(2);
    expect(r.json).toMatchObject({ error: "bad_config" });
  });

  it("refuses a bad TALLY_PARSE_THREAD before it starts (exit 2, bad_config), as parse and backfill do, instead of failing every log source", async () => {
    const state = join(dir, "bad-thread");
    await enrolledState(state);
    const config = join(dir, "thread.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: "ansys", kind: "flexlm-debuglog", file: ANSYS, timezone: "UTC" }] }));
    const before = process.env.TALLY_PARSE_THREAD;
    process.env.TALLY_PARSE_THREAD = "sometimes"; // the daemon's sources read it from the process
    try {
      const r = await runOnce(config, state);
      expect([r.status, r.json?.error, r.json?.message]).toEqual([2, "bad_config", 'TALLY_PARSE_THREAD must be always, never or auto, got "sometimes"']);
    } finally {
      if (before === undefined) delete process.env.TALLY_PARSE_THREAD;
      else process.env.TALLY_PARSE_THREAD = before;
    }
  });
});
