// A log the site has read before is never reported again from its beginning: a source renamed in the
// config, read from the start as a new source, would append every session a second time (under ids of
// another source name, so billed twice). The source fails instead (bad_config, read_before) until the
// config keeps the name or starts the log at its end. A log `backfill` imported is read on from where
// the import stopped. A log the config names by a new path (moved) whose start is what its state read
// goes on where it stopped.
import { appendFile, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UsageData } from "../../../shared/protocol/index.ts";
import { freePort } from "../../support/local-edge.ts";
import { cli, enrolledState, logRecords, runOnce } from "../cli/cli-io.ts";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-read-before-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Final usage records in the log: `source user start–end`. */
async function sessions(state: string): Promise<string[]> {
  return (await logRecords(state))
    .filter((r) => r.kind === "usage").map((r) => r.data as UsageData).filter((d) => d.final)
    .map((d) => `${d.source} ${d.user} ${new Date(d.start).toISOString().slice(11, 16)}–${new Date(d.end).toISOString().slice(11, 16)}`);
}

// Over 1 KiB before the usage: a log is known by what was read of it, and its first line alone starts
// every log of that server begun that day (log-first-read.ts SAME_LOG_BYTES).
const BANNER = Array.from({ length: 24 }, (_, i) => ` 8:00:00 (lmgrd) License file(s): /opt/flexlm/licenses/site-${i}.lic\n`).join("");
const FIRST = ` 8:00:00 (lmgrd) TIMESTAMP 1/10/2022\n${BANNER} 8:00:01 (MLM) TIMESTAMP 1/10/2022\n 9:00:00 (MLM) OUT: "MATLAB" ann@pc1\n10:00:00 (MLM) IN: "MATLAB" ann@pc1\n`;
const MORE = '11:00:00 (MLM) OUT: "MATLAB" bob@pc2\n12:00:00 (MLM) IN: "MATLAB" bob@pc2\n';

async function site(name: string): Promise<{ state: string; log: string; run: (source: Record<string, unknown>) => ReturnType<typeof cli> }> {
  const state = join(dir, name);
  await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
  const log = join(dir, `${name}.log`);
  await writeFile(log, FIRST);
  const config = join(dir, `${name}.json`);
  const run = async (source: Record<string, unknown>) => {
    await writeFile(config, JSON.stringify({ sources: [{ kind: "flexlm-debuglog", timezone: "UTC", ...source }] }));
    return runOnce(config, state);
  };
  return { state, log, run };
}

describe("a log read before is not reported again", () => {

  it("a source renamed in the config fails (read_before) instead of reporting the log's history again; the old name back reads on", async () => {
    const { state, log, run } = await site("renamed");
    expect(Buffer.byteLength(FIRST)).toBeGreaterThan(1100);
    expect((await run({ name: "lmgrd", file: log })).status).toBe(0);
    expect(await sessions(state)).toEqual(["lmgrd ann 09:00–10:00"]);
    await appendFile(log, MORE);

    const renamed = await run({ name: "flexlm", file: log });
    expect(renamed.status).toBe(0); // the daemon goes on; the source fails
    expect(renamed.stderr).toContain(`${log} was read before by source lmgrd, to byte ${Buffer.byteLength(FIRST)}: read from its beginning as source flexlm`);
    expect(await sessions(state)).toEqual(["lmgrd ann 09:00–10:00"]); // nothing twice
    const status = await cli(["status", "--state", state, "--json"]);
    expect((status.json?.sources as Array<{ up: boolean; last_error?: { code?: string } }>)[0]).toMatchObject({ up: false, last_error: { code: "bad_config", reason: "read_before" } });

    expect((await run({ name: "lmgrd", file: log })).status).toBe(0); // the old name back: it reads on
    expect(await sessions(state)).toEqual(["lmgrd ann 09:00–10:00", "lmgrd bob 11:00–12:00"]);
  });

  it("a log the config names by a new path, whose start is what was read, goes on where it stopped", async () => {
    const { state, log, run } = await site("moved");
    expect((await run({ name: "lmgrd", file: log })).status).toBe(0);
    const moved = join(dir, "moved-elsewhere.log");
    await rename(log, moved);
    await appendFile(moved, MORE);
    const r = await run({ name: "lmgrd", file: moved });
    expect(r.status).toBe(0);
    expect(r.stderr).not.toContain("read before");
    expect(await sessions(state)).toEqual(["lmgrd ann 09:00–10:00", "lmgrd bob 11:00–12:00"]); // ann's once
  });

  it("a log backfilled is read on by run from where the import stopped, under the backfill's name or another: nothing twice, nothing lost", async () => {
    // Before, the source failed (read_before) and the way out, start_at end, lost the lines written
    // between the import and run's first read (bob's session here).
    for (const [backfillName, sourceName] of [["lmgrd", "lmgrd"], [undefined, "lic"]] as const) {
      const { state, log, run } = await site(`backfilled-${sourceName}`);
      const named = backfillName === undefined ? [] : ["--name", backfillName];
      expect((await cli(["backfill", "--source", "flexlm-debuglog", "--file", log, ...named, "--timezone", "UTC", "--state", state])).status).toBe(0);
      const imported = backfillName ?? "flexlm-debuglog";
      expect(await sessions(state)).toEqual([`${imported} ann 09:00–10:00`]);
      await appendFile(log, MORE); // written before run first reads the log
      const r = await run({ name: sourceName, file: log });
      expect(r.status).toBe(0);
      expect(r.stderr).toContain(`source ${sourceName} goes on with the state of backfill --name ${imported}, which imported ${log} to byte ${Buffer.byteLength(FIRST)}`);
      expect(r.stderr).not.toContain("read before");
      expect(await sessions(state)).toEqual([`${imported} ann 09:00–10:00`, `${sourceName} bob 11:00–12:00`]);
      // The import is the source's now: backfill says run follows the log.
      const again = await cli(["backfill", "--source", "flexlm-debuglog", "--file", log, ...named, "--timezone", "UTC", "--state", state, "--json"]);
      expect([again.status, again.json?.appended, again.json?.followed_by]).toEqual([0, 0, { source: sourceName, read_to_byte: Buffer.byteLength(FIRST + MORE) }]);
    }
  });

  it("a log backfilled, read by a source with start_at end: only what comes next (the setting is kept)", async () => {
    const { state, log, run } = await site("backfilled-end");
    expect((await cli(["backfill", "--source", "flexlm-debuglog", "--file", log, "--name", "lmgrd", "--timezone", "UTC", "--state", state])).status).toBe(0);
    expect((await run({ name: "lmgrd", file: log, start_at: "end" })).status).toBe(0);
    // (Read from its end, the log's next lines wait for a date: lmgrd's next TIMESTAMP gives it.)
    await appendFile(log, `${MORE}12:30:00 (lmgrd) TIMESTAMP 1/10/2022\n`);
    expect((await run({ name: "lmgrd", file: log, start_at: "end" })).status).toBe(0);
    expect(await sessions(state)).toEqual(["lmgrd ann 09:00–10:00", "lmgrd bob 11:00–12:00"]);
  });

  it("another log that only begins alike (its server's first line of the day) is no log read before", async () => {
    const { state, log, run } = await site("alike");
    const short = ' 8:00:00 (lmgrd) TIMESTAMP 1/10/2022\n 9:00:00 (MLM) OUT: "MATLAB" ann@pc1\n10:00:00 (MLM) IN: "MATLAB" ann@pc1\n';
    await writeFile(log, short);
    expect((await run({ name: "lmgrd", file: log })).status).toBe(0);
    const other = join(dir, "alike-other.log");
    await writeFile(other, ' 8:00:00 (lmgrd) TIMESTAMP 1/10/2022\n11:00:00 (MLM) OUT: "MATLAB" cy@pc3\n11:30:00 (MLM) IN: "MATLAB" cy@pc3\n');
    const r = await run({ name: "second", file: other });
    expect(r.stderr).not.toContain("read before");
    expect(await sessions(state)).toEqual(["lmgrd ann 09:00–10:00", "second cy 11:00–11:30"]);
  });
});
