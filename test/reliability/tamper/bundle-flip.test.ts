// Guarantee 3, air-gapped side: an exported bundle is audited offline (`verify --bundle`, pure
// `verifyBundle` underneath) and ANY single changed byte of it is found. A real state dir writes
// its log with the collector's own RecordWriter; `export` cuts and signs it as a sync would; then
// chosen bytes are flipped (XOR 0xff, and single bits) one at a time. FLIP_BYTES random positions
// (2,000; every byte with SOAK=1). SEED=n replays the choice.
import { afterAll, beforeAll, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyBundle } from "../../../shared/protocol/index.ts";
import { openSite } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { loadKey } from "../../../collector/state/identity.ts";
import { cli, enrolledState } from "../../collector/cli/cli-io.ts";
import { seededRandom, testSeed } from "../../support/seed.ts";

const FLIP_BYTES = 2_000;
const RECORDS = 30;
let dir: string;
let bundleFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-bundle-flip-"));
  await enrolledState(dir);
  const site = await openSite(statePaths(dir), { clock: () => Date.UTC(2026, 10, 27, 10) });
  for (let i = 0; i < RECORDS; i++) {
    const start = Date.UTC(2026, 10, 27, 8) + i * 60_000;
    await site.append([{ kind: "usage", data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: `José ${i % 7}`, host: "ws-01", session: `s-${i}`, start, end: start + 60_000, count: 1 + (i % 3), final: true } }]);
  }
  await site.close();
  bundleFile = join(dir, "bundle.json");
  // Small batches, so the bundle holds several checkpoints and chain links across batches.
  const exported = await cli(["export", "--out", bundleFile, "--state", dir, "--json"]);
  expect(exported.status, exported.stderr).toBe(0);
});
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

it("an untouched bundle verifies offline, with the state dir or with only the collector id and public key", async () => {
  const onSite = await cli(["verify", "--bundle", bundleFile, "--state", dir, "--json"]);
  expect(onSite.status, onSite.stderr).toBe(0);
  expect(onSite.json).toMatchObject({ ok: true, records: RECORDS, first_seq: 1, last_seq: RECORDS });
  const { public_key } = await loadKey(statePaths(dir));
  const auditor = await cli(["verify", "--bundle", bundleFile, "--collector", "col_cli_test", "--public-key", public_key, "--state", join(dir, "nowhere"), "--json"]);
  expect(auditor.status, auditor.stderr).toBe(0);
});

it("verify --bundle finds any single changed byte of the bundle", async () => {
  const original = await readFile(bundleFile);
  const { public_key } = await loadKey(statePaths(dir));
  const keys = [{ from_seq: 1, public_key }];
  const positions = process.env.SOAK ? original.length : Math.min(FLIP_BYTES, original.length);
  const random = seededRandom(testSeed("bundle-flip"));
  const codes: Record<string, number> = {};
  const missed: string[] = [];
  for (let n = 0; n < positions; n++) {
    const offset = process.env.SOAK ? n : Math.floor(random() * original.length);
    const mask = n % 2 === 0 ? 0xff : 1 << Math.floor(random() * 8);
    const flipped = Buffer.from(original);
    flipped[offset] = flipped[offset]! ^ mask;
    // Not UTF-8 any more ⇒ the file cannot even be read as the same text; decode as the CLI does.
    const result = verifyBundle(flipped.toString("utf8"), "col_cli_test", keys);
    if (result.ok) missed.push(`byte ${offset} ^ ${mask.toString(16)}`);
    else codes[result.error.error] = (codes[result.error.error] ?? 0) + 1;
  }
  console.log(`[bundle-flip] ${positions} flips of ${original.length} bytes: ${JSON.stringify(codes)}`);
  expect(missed).toEqual([]);
  // And through the CLI, one flip: exit 1 with a stable code.
  const flipped = Buffer.from(original);
  flipped[Math.floor(original.length / 2)] ^= 0x01;
  await writeFile(bundleFile, flipped);
  const run = await cli(["verify", "--bundle", bundleFile, "--state", dir, "--json"]);
  await writeFile(bundleFile, original);
  expect(run.status).toBe(1);
  expect(["malformed", "prev_mismatch", "bad_signature", "collector_mismatch", "gap"]).toContain((run.json as { error: string }).error);
});
