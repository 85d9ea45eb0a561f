// Backfill imports a file once: re-running adds nothing, a file that grew adds only what is new
// (including the rest of sessions still open at the earlier end), and a crash between the
// append and the coverage save is recovered from the log itself.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseStrictJson, type ChainRecord, type UsageData } from "../../../shared/protocol/index.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { recordsFromFile } from "../../../collector/sources/parse-file.ts";
import { REPO_ROOT } from "../../support/local-edge.ts";
import { cli, enrolledState } from "./cli-io.ts";

const ANSYS = resolve(REPO_ROOT, "test/fixtures/flexlm/debuglog-justbennet-ansys.log");

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-backfill-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

async function usageInLog(state: string): Promise<{ records: number; licenseSeconds: number; keys: Set<string> }> {
  const { log } = await SegmentLog.open(join(state, "log"));
  const entries = await log.read(1, { maxCount: 100_000, maxBytes: 1 << 30 });
  await log.close();
  let licenseSeconds = 0;
  const keys = new Set<string>();
  for (const e of entries) {
    const r = parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord;
    const d = r.data as UsageData;
    licenseSeconds += ((d.end - d.start) / 1000) * d.count;
    const key = `${d.session}@${d.start}`;
    expect(keys.has(key)).toBe(false); // no interval twice
    keys.add(key);
  }
  return { records: entries.length, licenseSeconds, keys };
}

async function fileTotal(file: string): Promise<number> {
  let total = 0;
  for await (const r of recordsFromFile("flexlm-debuglog", file, { timezone: "UTC" })) {
    if (r.kind === "usage") total += ((r.data.end - r.data.start) / 1000) * r.data.count;
  }
  return total;
}

describe("backfill", () => {
  it("imports a file that grew since the last import: only the new usage, and the total is the whole file's", async () => {
    const state = join(dir, "grown");
    await enrolledState(state);
    const lines = (await readFile(ANSYS, "utf8")).split("\n");
    const grown = join(dir, "ansys.log");
    await writeFile(grown, lines.slice(0, 2000).join("\n") + "\n");
    const first = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(first.status).toBe(0);
    const prefixTotal = await fileTotal(grown);
    expect((await usageInLog(state)).licenseSeconds).toBe(prefixTotal);

    await writeFile(grown, lines.join("\n"));
    const second = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(second.status).toBe(0);
    expect(second.json!.trimmed as number).toBeGreaterThan(0); // sessions open at line 2000 went on
    const fullTotal = await fileTotal(ANSYS);
    expect(fullTotal).toBe(55_455_026);
    expect((await usageInLog(state)).licenseSeconds).toBe(fullTotal);

    const third = await cli(["backfill", "--source", "flexlm-debuglog", "--file", grown, "--timezone", "UTC", "--state", state, "--json"]);
    expect(third.json).toMatchObject({ appended: 0 });
  });

  it("adds nothing on a re-run even when the coverage file was lost after the append (crash before save)", async () => {
    const state = join(dir, "crash");
    await enrolledState(state);
    const first = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state, "--json"]);
    const appended = first.json!.appended as number;
    expect(appended).toBe(4739);
    await rm(join(state, "coverage.json"));
    const again = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state, "--json"]);
    expect(again.json).toMatchObject({ appended: 0, skipped: 4739, last_seq: 4739 });
  });

  it("prints occasional plain progress lines, not a redrawn bar, when stderr is not a TTY", async () => {
    const state = join(dir, "progress");
    await enrolledState(state);
    const r = await cli(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC", "--state", state]);
    expect(r.stderr).not.toContain("\r");
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^backfill: 4739 records parsed, 4739 new, \d+\/s, \d+\.\d s$/);
  });
});
