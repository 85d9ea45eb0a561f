// The collector against a real local edge (wrangler dev): init → backfill a real FlexLM debug log
// → sync, and the edge's license-seconds are exactly the records'; backfill is idempotent;
// verify catches a flipped byte and an edited record; a snapshot-restored site that forks its
// chain is flagged for equivocation; with the edge gone, sync exits 3 after bounded retries.
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordsFromFile } from "../../collector/sources/parse-file.ts";
import { decodeHeader, encodeFrame, HEADER_BYTES } from "../../collector/log/frame.ts";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createEnrollment, provisionContract, REPO_ROOT, startLocalEdge, type LocalEdge, type ProvisionedContract } from "../support/local-edge.ts";
import { runCollector } from "../support/collector-process.ts";
import { sharedFixtures } from "../collector/sources/fixture-paths.ts";
import { openSite } from "../../collector/site.ts";
import { statePaths } from "../../collector/state/state-dir.ts";
import { seededRandom } from "../../collector/sync/backoff.ts";
import { EdgeClient } from "../../collector/sync/edge-client.ts";
import { syncOnce } from "../../collector/sync/syncer.ts";
import type { RecordBody } from "../../shared/protocol/index.ts";

/** The machine's Node 20 (outside npm, which runs Node 22), if there is one. */
const NODE20 = ["/usr/local/bin/node", "/usr/bin/node"].find((p) => existsSync(p) && spawnSync(p, ["--version"], { encoding: "utf8" }).stdout.startsWith("v20."));

const FIXTURES = join(sharedFixtures, "flexlm");
const ANSYS = join(FIXTURES, "debuglog-justbennet-ansys.log");
const MAPLE = join(FIXTURES, "debuglog-joseantoniovilar-maple.log"); // 26 records
const AUTODESK = join(FIXTURES, "debuglog-imsukh-autodesk.log"); // 418 records

let edge: LocalEdge;
let contract: ProvisionedContract;
let root: string;
let state: string;

beforeAll(async () => {
  edge = await startLocalEdge();
  contract = await provisionContract(edge, { start: "2010-01-01", timezone: "UTC" });
  root = await mkdtemp(join(tmpdir(), "tally-e2e-collector-"));
  state = join(root, "site");
});
afterAll(async () => {
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const collector = (args: string[], dir = state) => runCollector([...args, "--state", dir, "--json"]);

/** The fixture's usage as the parser yields it, independent of the collector's log. */
async function licenseSecondsOf(file: string): Promise<{ total: number; months: Set<number> }> {
  let total = 0;
  const months = new Set<number>();
  for await (const r of recordsFromFile("flexlm-debuglog", file, { timezone: "UTC" })) {
    if (r.kind !== "usage") continue;
    total += ((r.data.end - r.data.start) / 1000) * r.data.count;
    for (let d = new Date(r.data.start); d.getTime() < r.data.end; d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
      months.add(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
    }
  }
  return { total, months };
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, "log"))).filter((n) => n.startsWith("seg-")).sort();
}

describe("collector ⇄ local edge", () => {
  let appended = 0;

  it("init enrolls the site and keeps the private key in a 0600 file", async () => {
    const run = await collector(["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", "plant-7"]);
    expect(run.status).toBe(0);
    expect(run.json).toMatchObject({ ok: true, contract_id: contract.contractId, site: "plant-7" });
    expect(String(run.json!.collector_id)).toMatch(/^col_/);
    expect((await stat(join(state, "key.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(state, "credentials.json"))).mode & 0o777).toBe(0o600);
  });

  it("backfill appends every record of a real FlexLM debug log, and re-running it adds nothing", async () => {
    let parsed = 0;
    for await (const _ of recordsFromFile("flexlm-debuglog", ANSYS, { timezone: "UTC" })) parsed++;
    const first = await collector(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC"]);
    expect(first.status).toBe(0);
    expect(first.json).toMatchObject({ parsed, appended: parsed, first_seq: 1, last_seq: parsed });
    appended = parsed;

    const again = await collector(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC"]);
    expect(again.status).toBe(0);
    expect(again.json).toMatchObject({ parsed: 0, appended: 0, resumed_from_byte: (await stat(ANSYS)).size, last_seq: parsed });
  });

  it("sync receipts every record, and the edge's license-seconds equal the sum of (end − start) × count", async () => {
    const run = await collector(["sync"]);
    expect(run.status).toBe(0);
    expect(run.json).toMatchObject({ ok: true, acked_seq: appended, last_seq: appended, pending: 0, records_sent: appended });
    expect(run.json!.batches).toBe(2); // 4,739 records of ~330 bytes: over 1 MiB, so two batches

    const { total, months } = await licenseSecondsOf(ANSYS);
    let edgeTotal = 0;
    for (const month of months) {
      const balance = await fetch(`${edge.url}/v1/contracts/${contract.contractId}/balance`, {
        headers: { authorization: `Bearer ${contract.vendorKey}`, "x-tally-now": String(month) },
      }).then((r) => r.json() as Promise<{ usage: { license_seconds: number }; collectors: Array<{ acked_seq: number }> }>);
      edgeTotal += balance.usage.license_seconds;
      expect(balance.collectors[0]!.acked_seq).toBe(appended);
    }
    expect(total).toBe(55_455_026);
    expect(edgeTotal).toBe(total);

    const status = await collector(["status"]);
    expect(status.json).toMatchObject({ pending: 0, acked_seq: appended, last_receipt: { acked_seq: appended } });
  });

  it.skipIf(!NODE20)("the bundled dist/tally-collector.mjs runs on Node 20: --help, status and verify of the synced state; a site of its own inits, runs and syncs (undici)", async () => {
    const build = spawnSync(process.execPath, ["scripts/build-collector.ts"], { cwd: REPO_ROOT, encoding: "utf8" });
    expect(build.status, build.stderr).toBe(0);
    const bundle = join(REPO_ROOT, "dist/tally-collector.mjs");
    const node20 = (args: string[]) => {
      const r = spawnSync(NODE20!, [bundle, ...args], { encoding: "utf8" });
      expect(r.status, `${args[0]}: ${r.stderr}`).toBe(0);
      return r;
    };
    expect(node20(["sync", "--help"]).stdout).toMatch(/^usage: tally-collector sync /);
    expect(JSON.parse(node20(["status", "--state", state, "--json"]).stdout)).toMatchObject({ pending: 0, acked_seq: appended });
    expect(JSON.parse(node20(["verify", "--state", state, "--json"]).stdout)).toMatchObject({ ok: true, records_checked: appended });

    // Every edge request of its own (enroll, the batches, the contract doc) through undici on Node 20.
    const other = await provisionContract(edge, { start: "2010-01-01", timezone: "UTC" });
    const site20 = join(root, "node20");
    node20(["init", "--server", edge.url, "--enroll", other.enrollmentToken, "--site", "node20", "--state", site20, "--json"]);
    const config = join(root, "node20.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: "maple", kind: "flexlm-debuglog", file: MAPLE, timezone: "UTC" }] }));
    const run = JSON.parse(node20(["run", "--config", config, "--once", "--state", site20, "--json"]).stdout) as { appended: number };
    expect(run.appended).toBeGreaterThan(26); // the fixture's records, heartbeats, cuts
    const sync = JSON.parse(node20(["sync", "--state", site20, "--json"]).stdout) as Record<string, unknown>;
    expect(sync).toMatchObject({ ok: true, pending: 0 });
    expect(JSON.parse(node20(["status", "--state", site20, "--json"]).stdout)).toMatchObject({ pending: 0, acked_seq: sync.last_seq });
  });

  it("a second sync with nothing pending sends nothing and exits 0", async () => {
    const run = await collector(["sync"]);
    expect(run.status).toBe(0);
    expect(run.json).toMatchObject({ batches: 0, pending: 0 });
  });

  it("verify passes on the synced log: framing, chain, checkpoints and receipts", async () => {
    const run = await collector(["verify"]);
    expect(run.status).toBe(0);
    expect(run.json).toMatchObject({ ok: true, records_checked: appended, receipts_checked: 2, checkpoints_checked: 2 });
  });

  it("verify fails with exit 1 after one byte of a segment is flipped", async () => {
    const copy = join(root, "flipped");
    await cp(state, copy, { recursive: true });
    const [segment] = await segmentFiles(copy);
    const path = join(copy, "log", segment!);
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x04;
    await writeFile(path, bytes);

    const run = await collector(["verify"], copy);
    expect(run.status).toBe(1);
    expect(run.json).toMatchObject({ ok: false, error: "log_corrupt" });
    expect(run.stderr).toMatch(/^verify: log_corrupt: /);
  });

  it("verify fails with exit 1 when a record is edited and its frame re-checksummed", async () => {
    const copy = join(root, "edited");
    await cp(state, copy, { recursive: true });
    const [segment] = await segmentFiles(copy);
    const path = join(copy, "log", segment!);
    const bytes = new Uint8Array(await readFile(path));
    // The first usage frame from seq 100 on (denials have no count): walk the headers to it, change
    // its count 1 → 2, rewrite the frame.
    let at = 0;
    for (let seq = 1; seq < 100; seq++) at += HEADER_BYTES + decodeHeader(bytes, at).length;
    let seq = 100;
    const frameText = () => new TextDecoder().decode(bytes.subarray(at + HEADER_BYTES, at + HEADER_BYTES + decodeHeader(bytes, at).length));
    for (; !frameText().includes('"count":1,') && seq < 200; seq++) at += HEADER_BYTES + decodeHeader(bytes, at).length;
    const text = frameText();
    expect(text).toContain('"count":1,');
    encodeFrame(bytes, at, seq, new TextEncoder().encode(text.replace('"count":1,', '"count":2,')));
    await writeFile(path, bytes);

    const run = await collector(["verify"], copy);
    expect(run.status).toBe(1);
    expect(run.json).toMatchObject({ ok: false, error: "prev_mismatch", problem: { seq: seq + 1 } });
  });

  it("a site restored from a snapshot that forks its chain is flagged for equivocation, and stays refused", async () => {
    const snapshot = join(root, "snapshot");
    await cp(state, snapshot, { recursive: true });

    // The live site goes on and syncs…
    expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", MAPLE, "--timezone", "UTC"])).json).toMatchObject({ appended: 26 });
    // Forget the edge keys (the daily read of the list not due): a receipt under an unknown key_id
    // makes sync fetch GET /v1/keys, and that read restarts the day.
    const keysFile = join(state, "edge-keys.json");
    const known = JSON.parse(await readFile(keysFile, "utf8"));
    await writeFile(keysFile, JSON.stringify({ ...known, keys: [] }));
    expect((await collector(["sync"])).json).toMatchObject({ acked_seq: appended + 26, pending: 0 });
    const relearned = JSON.parse(await readFile(keysFile, "utf8"));
    expect(relearned.keys).toEqual(known.keys);
    expect(Date.parse(relearned.checked_at)).toBeGreaterThan(Date.parse(known.checked_at));
    // …then the VM is restored from the snapshot and records something else at the same seqs.
    expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", AUTODESK, "--timezone", "UTC"], snapshot)).json).toMatchObject({ appended: 418 });
    const forked = await collector(["sync"], snapshot);
    expect(forked.status).toBe(1);
    expect(forked.json).toMatchObject({ ok: false, error: "equivocation", seq: appended + 1 });
    expect(JSON.parse(await readFile(join(snapshot, "flags.json"), "utf8")).flags).toMatchObject([{ code: "equivocation", seq: appended + 1 }]);

    const refused = await collector(["sync"], snapshot);
    expect(refused.status).toBe(1);
    expect(refused.json).toMatchObject({ ok: false, error: "flagged" });
  });

  it("receipted segments are released, and verify still passes on what remains", async () => {
    const small = join(root, "small-segments");
    const token = (await createEnrollment(edge, contract.vendorKey, contract.contractId)).enrollment_token;
    expect((await collector(["init", "--server", edge.url, "--enroll", token, "--site", "small"], small)).status).toBe(0);
    const site = await openSite(statePaths(small), { segmentBytes: 64 * 1024 });
    try {
      const bodies: RecordBody[] = [];
      for await (const r of recordsFromFile("flexlm-debuglog", ANSYS, { timezone: "UTC" })) bodies.push(r as RecordBody);
      await site.append(bodies);
      const report = await syncOnce(site, new EdgeClient(edge.url), { backoff: { baseMs: 10, maxMs: 100, maxAttempts: 3 }, random: seededRandom(1) });
      expect(report).toMatchObject({ acked_seq: 4739, last_seq: 4739, batches: 2 });
      expect(report.released_segments).toBeGreaterThan(0);
      expect(site.log.firstSeq()).toBeGreaterThan(1);
    } finally {
      await site.close();
    }
    const run = await collector(["verify"], small);
    expect(run.status).toBe(0);
    expect(run.json!.records_checked).toBe(4739 - (run.json!.first_seq as number) + 1);
  });

  it("with the edge stopped, status still works and sync exits 3 after the capped attempts", async () => {
    expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", AUTODESK, "--timezone", "UTC"])).json).toMatchObject({ appended: 418 });
    await edge.stop({ keepState: false });

    const status = await collector(["status"]);
    expect(status.status).toBe(0);
    expect(status.json).toMatchObject({ pending: 418 });

    const run = await collector(["sync", "--attempts", "3", "--backoff-base-ms", "20", "--backoff-max-ms", "100", "--timeout-ms", "2000"]);
    expect(run.status).toBe(3);
    expect(run.json).toMatchObject({ ok: false, error: "edge_unreachable" });
    expect(run.stderr.match(/edge unreachable \(.*ECONNREFUSED.*\); attempt \d\/3/g)).toHaveLength(2);
    expect((await collector(["status"])).json).toMatchObject({ pending: 418 });
  });
});
