// A state dir keeps a journal per file ever backfilled (sources/<name>@<fingerprint>.json and its
// appendix): a site that imports a year of daily-rotated logs holds hundreds. Opening the site —
// every command, `status` included — settles only journals with a step pending, and a backfill
// opens only the journal of the file it imports: what they read must not be the folder listed
// once per journal (quadratic in the files) nor every import's appendix.
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeBacklogLog } from "../../support/backlog-log.ts";
import { counted } from "../../support/fs-count.ts";
import { cli, enrolledTmpState } from "./cli-io.ts";

const FILES = 12;
const DAY = 86_400_000;

let dir: string;
let state: string;
beforeAll(async () => {
  ({ dir, state } = await enrolledTmpState("backfill-many"));
  for (let k = 0; k < FILES; k++) await backfill(k);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function backfill(k: number) {
  const file = join(dir, `day-${k}.log`);
  await writeBacklogLog(file, { lines: 200, seed: k + 1, startAt: Date.UTC(2024, 0, 1) + k * DAY });
  const out = await cli(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC", "--name", "lmgrd", "--state", state, "--json"]);
  expect(out.status, out.stderr).toBe(0);
  return out;
}

const sources = () => join(state, "sources");
const appendixReads = (paths: string[]) => paths.filter((p) => p.startsWith(sources()) && p.endsWith(".jsonl"));

describe("a state dir with a journal per backfilled file", () => {
  it("status lists the sources folder once and reads no import's appendix", async () => {
    const files = await readdir(sources());
    expect(files.filter((f) => f.endsWith(".jsonl")).length).toBe(FILES);
    const { result, calls } = await counted(() => cli(["status", "--state", state, "--json"]));
    expect(result.status).toBe(0);
    expect(calls.readdir.filter((p) => p === sources())).toHaveLength(1);
    expect(appendixReads(calls.readFile)).toEqual([]);
  });

  it("a backfill opens only its own journal, and the new file not once per earlier import", async () => {
    const { result, calls } = await counted(() => backfill(FILES));
    expect(result.json?.appended).toBeGreaterThan(0);
    const newFile = join(dir, `day-${FILES}.log`);
    // Opened a fixed number of times (encoding sniff, fingerprint, the read…), not once per import.
    expect(calls.open.filter((p) => p === newFile).length).toBeLessThan(FILES);
    expect(appendixReads(calls.readFile)).toEqual([]);
    // Site open, the search for an earlier import, the new journal.
    expect(calls.readdir.filter((p) => p === sources()).length).toBeLessThanOrEqual(3);
  });

  it("the same file again is still recognised: nothing appended", async () => {
    const again = await backfill(3);
    expect(again.json?.appended).toBe(0);
  });
});
