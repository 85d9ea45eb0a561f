// Guarantee 2 (docs/guarantees.md): every record is counted exactly once, forever. Twelve sites
// of three vendors sync real collector processes, several at a time, through a proxy that drops,
// duplicates (at once and late), delays, cuts off, truncates and fails requests; the edge ends
// with exactly the license-seconds the simulated servers produced, per contract and per feature,
// and every site is receipted through its last record. Then every batch the edge ever accepted
// is replayed months later and nothing the edge shows changes by a byte.
// Scale: SOAK=1 runs more rounds, more data, more passes and higher fault rates.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { verifyReceipt, type SignedReceipt } from "../../../shared/protocol/index.ts";
import { forEachBounded } from "../../support/bounded.ts";
import { collectorBundle, runCollector } from "../../support/collector-process.ts";
import { NO_FAULTS, startFaultProxy, type FaultProxy, type FaultRates } from "../../support/fault-proxy.ts";
import { edgeRequest, getBalance, startLocalEdge, type LocalEdge } from "../../support/local-edge.ts";
import { seededRandom, testSeed } from "../../support/seed.ts";
import { allSites, contractTruth, provisionFleet, simulate, STEP_MS, type FleetContract, type FleetSite } from "./fleet.ts";
import { MONTH_MS, readView, replayBatches } from "./old-batch-replay.ts";
import { testNow } from "../../support/test-clock.ts";

const SOAK = Boolean(process.env.SOAK);
const ROUNDS = SOAK ? 4 : 2;
const STEPS_PER_ROUND = SOAK ? 1500 : 300;
/** Sync passes a site gets per round while the network is hostile, before it is healed. */
const HOSTILE_PASSES = SOAK ? 10 : 3;
/** Sync processes at a time (the suite shares 2 cores; each process mostly waits on the network). */
const CONCURRENCY = 4;
/** Share of hostile passes that meet a second `sync` of the same site. */
const OVERLAPPING = 0.2;
const REPLAY_AFTER_MONTHS = SOAK ? [1, 4, 13] : [4];
const FAULTS: Partial<FaultRates> = SOAK
  ? { dropRequest: 0.15, dropResponse: 0.25, badGateway: 0.1, delayMs: 60, duplicate: 0.2, truncateBody: 0.1, resetMidRequest: 0.1, lateDuplicate: 0.2, lateDuplicateMs: 3000 }
  : { dropRequest: 0.1, dropResponse: 0.15, badGateway: 0.08, delayMs: 40, duplicate: 0.1, truncateBody: 0.08, resetMidRequest: 0.08, lateDuplicate: 0.1, lateDuplicateMs: 2000 };
const SYNC_FLAGS = ["--max-records", "20", "--attempts", "4", "--backoff-base-ms", "5", "--backoff-max-ms", "40", "--timeout-ms", "15000", "--json"];

let edge: LocalEdge;
let proxy: FaultProxy | undefined;
let dir: string;
/** The bundled collector, the script sites install. */
let script: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-exactly-once-"));
  [edge, script] = await Promise.all([startLocalEdge(), collectorBundle()]);
});
afterAll(async () => {
  await proxy?.close();
  await edge?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface SyncReport { acked_seq: number; last_seq: number; retries: number }

const tally = { processes: 0, passesUnreachable: 0, passesDone: 0, retries: 0, appended: 0, overlapping: 0, lockRefusals: 0 };

async function collector(site: FleetSite, args: string[], pass = 0) {
  tally.processes++;
  return runCollector([...args, "--state", site.state], { script, env: { TALLY_JITTER_SEED: String(site.jitterSeed + pass) } });
}

async function backfill(site: FleetSite): Promise<void> {
  const r = await collector(site, ["backfill", "--source", "flexlm-debuglog", "--file", site.log, "--timezone", "UTC", "--json"]);
  expect(r.status, `${site.name} backfill: ${r.stderr}`).toBe(0);
  tally.appended += Number(r.json?.appended);
}

/** One `sync` process; exit 0 (all receipted) or 3 (edge unreachable) are the only acceptable
 *  ends — and, when `overlap` runs another `sync` of the same site at the same moment (a cron
 *  run meeting a manual one), the state lock refusing one of them. */
async function syncPass(site: FleetSite, pass: number, overlap = false): Promise<SyncReport | undefined> {
  const [r, other] = await Promise.all([collector(site, ["sync", ...SYNC_FLAGS], pass), overlap ? collector(site, ["sync", ...SYNC_FLAGS], pass + 50) : undefined]);
  if (other) {
    tally.overlapping++;
    const locked = (run: typeof r) => run.status === 2 && run.json?.error === "bad_state" && /locked/.test(String(run.json?.message));
    expect([0, 3].includes(other.status!) || locked(other), `${site.name} overlapping sync exited ${other.status}: ${other.stdout} ${other.stderr.slice(-1000)}`).toBe(true);
    if (locked(r)) { tally.lockRefusals++; return undefined; }
    if (locked(other)) tally.lockRefusals++;
  }
  expect([0, 3], `${site.name} sync pass ${pass} exited ${r.status}: ${r.stderr.slice(-2000)}`).toContain(r.status);
  if (r.status !== 0) { tally.passesUnreachable++; return undefined; }
  tally.passesDone++;
  const report = r.json as unknown as SyncReport;
  tally.retries += report.retries;
  return report;
}

it("every record of 12 sites is counted exactly once through a hostile network, and months-old replays change nothing", async () => {
  const seed = testSeed("exactly once (guarantee 2)");
  const startedAt = performance.now();
  const random = seededRandom(seed ^ 0x5eed);
  const simulatedMs = ROUNDS * (STEPS_PER_ROUND + 1) * STEP_MS;
  // All simulated time ends before now and starts on the contracts' start date, so it lies in the
  // open period (whatever the date the suite runs on) and the balance sums all of it.
  const t0 = Math.floor((testNow() - simulatedMs - 3600_000) / 3600_000) * 3600_000;
  const contracts = await provisionFleet(edge, dir, seed, t0);
  const sites = allSites(contracts);
  proxy = await startFaultProxy(edge.url, seed, NO_FAULTS, { captureBatches: true });
  const fault = proxy;

  // Enrollment tokens are single-use: enroll on a clean network.
  await forEachBounded(sites, CONCURRENCY, async (site) => {
    const r = await collector(site, ["init", "--server", fault.url, "--enroll", site.enrollmentToken, "--site", site.name, "--json"]);
    expect(r.status, `${site.name} init: ${r.stderr}`).toBe(0);
    site.collectorId = String(r.json?.collector_id);
  });

  const final = new Map<FleetSite, SyncReport>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const site of sites) simulate(site, STEPS_PER_ROUND, round === ROUNDS);
    await forEachBounded(sites, CONCURRENCY, backfill);
    fault.setRates(FAULTS);
    await forEachBounded(sites, CONCURRENCY, async (site) => {
      for (let pass = 0; pass < HOSTILE_PASSES; pass++) if (await syncPass(site, round * 100 + pass, random() < OVERLAPPING)) break;
    });
    // Heal the network (late duplicates are still on their way) and let every site finish.
    fault.setRates(NO_FAULTS);
    await forEachBounded(sites, CONCURRENCY, async (site) => {
      const report = await syncPass(site, round * 100 + 99);
      expect(report, `${site.name} did not finish on a clean network`).toBeDefined();
      expect(report!.acked_seq).toBe(report!.last_seq);
      final.set(site, report!);
    });
  }
  await fault.settle();
  const injected = { ...fault.counts };
  const syncedAt = performance.now();
  console.log(`[guarantee 2] ${sites.length} sites, ${contracts.length} contracts, ${tally.appended} records, ${fault.captured.length} batches answered 200; `
    + `${tally.processes} collector processes (${tally.passesDone} sync passes completed, ${tally.passesUnreachable} ended unreachable, ${tally.retries} retries inside completed passes, `
    + `${tally.overlapping} overlapping syncs of which ${tally.lockRefusals} refused by the state lock); `
    + `faults injected ${JSON.stringify(injected)}`);
  expect(injected.dropResponse + injected.resetMidRequest + injected.lateDuplicate + injected.duplicate).toBeGreaterThan(0);

  for (const contract of contracts) await expectExactlyTheTruth(contract, final);
  console.log(`[guarantee 2] license-seconds exact for ${contracts.length} contracts; ${sites.length} sites receipted through their last seq`);

  // Every site's log still verifies: chain, signatures and every receipt it kept.
  await forEachBounded(sites, CONCURRENCY, async (site) => {
    const r = await collector(site, ["verify", "--json"]);
    expect(r.status, `${site.name} verify: ${r.stdout} ${r.stderr}`).toBe(0);
  });

  // Months later, every batch the edge ever accepted arrives again.
  const t1 = testNow();
  const instants = [t1, ...REPLAY_AFTER_MONTHS.map((m) => t1 + m * MONTH_MS)];
  const before = Object.assign({}, ...await Promise.all(instants.map((t) => readView(edge.url, contracts, t)))) as Record<string, string>;
  const { keys } = await edgeRequest<{ keys: Array<{ key_id: string; public_key: string }> }>(edge, "GET", "/v1/keys", undefined);
  let replays = 0;
  for (const months of REPLAY_AFTER_MONTHS) {
    const answers = await replayBatches(edge.url, fault.captured, { random, now: t1 + months * MONTH_MS, concurrency: CONCURRENCY });
    replays += answers.length;
    const bodiesBySite = new Map<string, Set<string>>();
    for (const a of answers) {
      expect(a.status, `replay ${a.encoding} ${a.path}: ${a.text}`).toBe(200);
      const { receipt, signature } = JSON.parse(a.text) as SignedReceipt;
      const site = sites.find((s) => s.collectorId === receipt.collector_id);
      expect(a.path).toBe(`/v1/collectors/${receipt.collector_id}/batches`);
      expect(receipt.acked_seq).toBe(final.get(site!)!.last_seq);
      expect(receipt.received_at).toBeLessThan(t1);
      expect(verifyReceipt(receipt, signature, keys.find((k) => k.key_id === receipt.key_id)!.public_key)).toBe(true);
      bodiesBySite.set(receipt.collector_id, (bodiesBySite.get(receipt.collector_id) ?? new Set()).add(a.text));
    }
    // A replay answers the receipt of the current high-water mark, byte for byte the same.
    for (const [id, bodies] of bodiesBySite) expect(bodies.size, id).toBe(1);
  }
  const after = Object.assign({}, ...await Promise.all(instants.map((t) => readView(edge.url, contracts, t)))) as Record<string, string>;
  expect(Object.keys(after).length).toBe(contracts.length * 3 * instants.length);
  for (const key of Object.keys(before)) expect(after[key], key).toBe(before[key]);
  console.log(`[guarantee 2] ${replays} replays (${REPLAY_AFTER_MONTHS.join(", ")} months later): all 200, ${Object.keys(before).length} views byte-identical; `
    + `wall time: ${((syncedAt - startedAt) / 1000).toFixed(1)} s provisioning + ${ROUNDS} rounds of backfill and sync, ${((performance.now() - syncedAt) / 1000).toFixed(1)} s checks, verify and replays`);
}, SOAK ? 3_600_000 : undefined); // a soak outgrows the project's 10-minute default

async function expectExactlyTheTruth(contract: FleetContract, final: Map<FleetSite, SyncReport>): Promise<void> {
  const truth = contractTruth(contract);
  expect(truth.total).toBeGreaterThan(0);
  const balance = await getBalance<{
    usage: { license_seconds: number; by_feature: Array<{ feature: string; license_seconds: number }> };
    quarantined_records: number;
    collectors: Array<{ collector_id: string; site: string; acked_seq: number; flags: string[] }>;
  }>(edge, contract.vendorKey, contract.contractId);
  expect(balance.usage.license_seconds, `${contract.contractId} (${contract.vendor})`).toBe(truth.total);
  const byFeature = balance.usage.by_feature.map((f) => ({ feature: f.feature, license_seconds: f.license_seconds }))
    .sort((a, b) => a.feature.localeCompare(b.feature));
  expect(byFeature).toEqual(truth.byFeature);
  expect(balance.quarantined_records).toBe(0);
  const sites = balance.collectors.map((c) => ({ site: c.site, acked_seq: c.acked_seq, flags: c.flags })).sort((a, b) => a.site.localeCompare(b.site));
  const expected = contract.sites.map((s) => ({ site: s.name, acked_seq: final.get(s)!.last_seq, flags: [] })).sort((a, b) => a.site.localeCompare(b.site));
  expect(sites).toEqual(expected);
}
