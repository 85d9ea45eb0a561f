// Guarantee 3, site side: `collector verify` finds ANY single flipped byte in the log segments.
// A real state dir (key, identity, a hash-chained log written by the collector's own
// RecordWriter, fsync'd) is built once; then each chosen byte of every segment file is flipped
// in place, `verify` must exit 1, and the byte is restored (verify exits 0 again at the end).
// Every byte when the log is small enough, else FLIP_BYTES random ones (2,000; 20,000 with
// SOAK=1). SEED=n replays the choice.
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSite } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { cli, enrolledState } from "../../collector/cli/cli-io.ts";
import { seededRandom, testSeed } from "../../support/seed.ts";

const FLIP_BYTES = process.env.SOAK ? 20_000 : 2_000;
const RECORDS = 40;
let dir: string;

async function segmentFiles(): Promise<string[]> {
  const logDir = statePaths(dir).log;
  const names = (await readdir(logDir)).sort();
  const files: string[] = [];
  // Segments only: an index file (seg-*.idx) is a cache verify does not trust, see FORMAT.md.
  for (const n of names) if (/^seg-\d+\.log$/.test(n) && (await stat(join(logDir, n))).size > 0) files.push(join(logDir, n));
  return files;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-verify-flip-"));
  await enrolledState(dir);
  const site = await openSite(statePaths(dir), { clock: () => Date.UTC(2026, 10, 27, 10), segmentBytes: 4096 });
  for (let i = 0; i < RECORDS; i++) {
    const start = Date.UTC(2026, 10, 27, 8) + i * 60_000;
    await site.append([{ kind: "usage", data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: `user-${i % 7}`, host: "ws-01", session: `s-${i}`, start, end: start + 60_000, count: 1, final: true } }]);
  }
  await site.close();
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

it("collector verify exits 1 for every single flipped byte of the log segments", async () => {
  expect((await cli(["verify", "--state", dir, "--json"])).status).toBe(0);
  const files = await segmentFiles();
  const positions: Array<[string, number]> = [];
  for (const f of files) { const size = (await stat(f)).size; for (let i = 0; i < size; i++) positions.push([f, i]); }
  let chosen = positions;
  if (positions.length > FLIP_BYTES) {
    const random = seededRandom(testSeed("verify-flip"));
    chosen = Array.from({ length: FLIP_BYTES }, () => positions[Math.floor(random() * positions.length)]!);
  }
  const missed: string[] = [];
  const codes: Record<string, number> = {};
  for (const [file, offset] of chosen) {
    const original = await readFile(file);
    const flipped = Buffer.from(original);
    flipped[offset] = flipped[offset]! ^ 0xff;
    await writeFile(file, flipped);
    const run = await cli(["verify", "--state", dir, "--json"]);
    await writeFile(file, original);
    const code = String((run.json as { problem?: { code?: string } } | undefined)?.problem?.code ?? run.json?.code ?? run.stderr.trim().slice(0, 40));
    codes[code] = (codes[code] ?? 0) + 1;
    if (run.status !== 1) missed.push(`${file.split("/").pop()}@${offset}: exit ${run.status}`);
  }
  console.log(`[tamper] verify flip: ${chosen.length} bytes of ${files.length} segment files (${positions.length} bytes) flipped, ${chosen.length - missed.length} detected; codes ${JSON.stringify(codes)}`);
  expect(missed.slice(0, 10)).toEqual([]);
  expect((await cli(["verify", "--state", dir, "--json"])).status).toBe(0);
});
