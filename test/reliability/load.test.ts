// Guarantee 7 (docs/guarantees.md), correctness under load: 100 enrolled sites post signed
// batches at once (each its own chain, in sequence) while readers hammer the customers' status
// pages; not one request fails, every receipt carries its batch's last seq, and every contract
// ends with exactly the license-seconds of the records sent. Bounded by request counts; the
// figures are printed, never asserted (bench/suites/edge-load.ts measures them against baselines).
// Scale: SOAK=1 sends ten times the records and reads.
import { afterAll, beforeAll, expect, it } from "vitest";
import { enrollLoadFleet, truthTotal, type LoadFleet } from "../support/load-sites.ts";
import { ingest, read } from "../support/load-run.ts";
import { getBalance, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { testSeed } from "../support/seed.ts";

const SOAK = Boolean(process.env.SOAK);

let edge: LocalEdge;
beforeAll(async () => { edge = await startLocalEdge(); });
afterAll(async () => { await edge?.stop(); });

it("100 sites ingesting at once while status pages are read: no request fails and every license-second is counted once", async () => {
  const seed = testSeed("edge load (guarantee 7)");
  const fleet: LoadFleet = await enrollLoadFleet(edge.url, edge.adminToken, {
    contracts: 10, sitesPerContract: 10, batchesPerSite: SOAK ? 10 : 2, recordsPerBatch: SOAK ? 100 : 15, seed,
  });
  const sites = fleet.contracts.flatMap((c) => c.sites);
  expect(sites.length).toBe(100);

  const ingestion = ingest(edge.url, sites);
  const reading = read(edge.url, {
    readers: 8, readsPerReader: SOAK ? 200 : 25,
    statusPaths: fleet.contracts.map((c) => `/status/${c.statusToken}`),
  });
  const [ingested, reads] = await Promise.all([ingestion, reading]);
  console.log(`[guarantee 7] ingest: ${ingested.records} records in ${ingested.batches} batches from ${sites.length} sites, `
    + `${ingested.recordsPerSecond.toFixed(0)} records/s, batch latency ${JSON.stringify(ingested.latency)} ms, ${ingested.errors.length} errors`);
  console.log(`[guarantee 7] status reads: ${reads.status.latency.count}, latency ${JSON.stringify(reads.status.latency)} ms; `
    + `health baseline ${JSON.stringify(reads.health.latency)} ms; ${reads.status.errors.length + reads.health.errors.length} errors`);

  expect(ingested.errors).toEqual([]);
  expect(reads.status.errors).toEqual([]);
  expect(reads.health.errors).toEqual([]);
  expect(ingested.records).toBe(fleet.records);
  expect(reads.status.latency.count).toBe(8 * (SOAK ? 200 : 25));

  for (const contract of fleet.contracts) {
    const balance = await getBalance<{ usage: { license_seconds: number; by_feature: Array<{ feature: string; license_seconds: number }> }; quarantined_records: number; collectors: Array<{ collector_id: string; acked_seq: number }> }>(
      edge, fleet.vendorKey, contract.contractId);
    expect(balance.usage.license_seconds).toBe(truthTotal(contract));
    expect(Object.fromEntries(balance.usage.by_feature.map((f) => [f.feature, f.license_seconds]))).toEqual(Object.fromEntries(contract.truth));
    expect(balance.quarantined_records).toBe(0);
    const acked = Object.fromEntries(balance.collectors.map((c) => [c.collector_id, c.acked_seq]));
    expect(acked).toEqual(Object.fromEntries(contract.sites.map((s) => [s.collectorId, s.lastSeqs.at(-1)])));
    const status = await fetch(`${edge.url}/status/${contract.statusToken}`, { headers: { accept: "application/json" } });
    expect(((await status.json()) as { usage: { license_seconds: number } }).usage.license_seconds).toBe(truthTotal(contract));
  }
});
