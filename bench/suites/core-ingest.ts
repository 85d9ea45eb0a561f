// Self-hosted core throughput (scripts/core.ts: HTTP front → workerd → ContractDO) beside
// `wrangler dev` on the same machine, in the same run, on the same signed batches:
//   - ingest: records/s of 1,000-record usage batches (edge-ingest's bodies);
//   - reads: balance requests/s from 8 concurrent clients over a contract holding those records;
//   - health: GET /health requests/s from 8 clients (the HTTP path alone: front, workerd, Hono);
// and, for sizing (docs/self-hosting.md), the data dir's bytes per stored record.
// Each edge gets its own fresh data dir; both are stopped at the end.
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import { coreBuild, freshSecrets, startCore } from "../../test/support/core-process.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { BATCH_RECORDS, batchBodies, enrolledCollector, post, recordsPerSecond, startEdge, stopEdge } from "./edge-ingest.ts";

const ADMIN = "bench-admin-token"; // what edge-ingest's wrangler dev is started with
const READ_CLIENTS = 8;
const READ_MS = Number(process.env.CORE_READ_MS ?? 5000);

interface Target { url: string; admin: string }
interface Measured { ingest: number; reads: number; health: number; records: number }

async function measure(target: Target): Promise<Measured> {
  const vendor = await post(`${target.url}/v1/vendors`, JSON.stringify({ name: "Bench vendor" }), target.admin);
  const keys = generateKeyPair();
  const site = await enrolledCollector(target.url, vendor.api_key, keys.publicKey);
  const bodies = batchBodies(site.collectorId, keys.secretKey);
  const ingest = await recordsPerSecond(`${target.url}/v1/collectors/${site.collectorId}/batches`, bodies);
  const reads = await requestsPerSecond(`${target.url}/v1/contracts/${site.contractId}/balance`, vendor.api_key);
  const health = await requestsPerSecond(`${target.url}/health`, vendor.api_key);
  return { ingest, reads, health, records: bodies.length * BATCH_RECORDS };
}

/** Balance reads/s: READ_CLIENTS loops for READ_MS, after a warm-up read. */
async function requestsPerSecond(url: string, key: string): Promise<number> {
  const read = async () => {
    const r = await fetch(url, { headers: { authorization: `Bearer ${key}` } });
    if (!r.ok) throw new Error(`${url} → ${r.status}`);
    await r.arrayBuffer();
  };
  await read();
  let done = 0;
  const until = performance.now() + READ_MS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: READ_CLIENTS }, async () => {
    while (performance.now() < until) {
      await read();
      done++;
    }
  }));
  return done / ((performance.now() - t0) / 1000);
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(join(entry.parentPath, entry.name)).size;
  }
  return total;
}

export default async function coreIngest(): Promise<BenchFigure[]> {
  const wranglerDir = mkdtempSync(join(tmpdir(), "tally-bench-wrangler-"));
  const coreDir = mkdtempSync(join(tmpdir(), "tally-bench-core-"));
  const build = await coreBuild();
  let wrangler: Measured;
  const dev = await startEdge(wranglerDir);
  try {
    wrangler = await measure({ url: dev.url, admin: ADMIN });
  } finally {
    stopEdge(dev.child);
  }
  const secrets = freshSecrets();
  const core = await startCore({ data: join(coreDir, "data"), secrets, build });
  let measured: Measured;
  try {
    measured = await measure({ url: core.url, admin: secrets.ADMIN_TOKEN });
    // Let the outbox reach D1 before the data dir is weighed.
    await new Promise((ok) => setTimeout(ok, 3000));
  } finally {
    await core.stop();
  }
  const bytes = treeBytes(join(coreDir, "data", "v3"));
  rmSync(wranglerDir, { recursive: true, force: true });
  rmSync(coreDir, { recursive: true, force: true });
  const perRecord = bytes / measured.records;
  const setting = `${measured.records.toLocaleString("en-US")} records in ${BATCH_RECORDS}-record batches; both on this machine, same run`;
  return [
    throughputFigure("core ingest (HTTP → core → workerd → ContractDO)", "records/s", measured.ingest, "wrangler dev, same batches", wrangler.ingest, setting),
    throughputFigure("core balance reads (8 clients)", "requests/s", measured.reads, "wrangler dev, same reads", wrangler.reads,
      `a balance is computed by the contract's Durable Object per read`),
    throughputFigure("core GET /health (8 clients)", "requests/s", measured.health, "wrangler dev, same requests", wrangler.health,
      `data dir after ingest: ${(bytes / 1e6).toFixed(1)} MB = ${Math.round(perRecord)} bytes/record (D1 + DO) ≈ ${Math.round(1e9 / perRecord).toLocaleString("en-US")} records/GB`),
  ];
}
