// Edge ingest throughput: records/s through HTTP → Worker → ContractDO (verify, store, rate,
// publish the balance, outbox), in batches of 1,000 realistic usage records, beside a baseline
// that sends the same bodies to a dev-only route whose DO only hashes them (as a batch is hashed:
// native SHA-256, apply-batch.ts recordHashes) and inserts them (routes/dev-bench.ts). The two
// paths' batches alternate, so both see the same machine (pairedRecordsPerSecond).
// The outbox's drain into D1 is the next stage, run by the DO's alarm 1 s after a write: local
// workerd runs D1 on the DO's own thread (production does not), so a drain landing inside the
// timed window charged the apply with D1's work at random. Here the drain is held back
// (TALLY_DRAIN_DELAY_MS) while the apply is timed, then run and timed on its own, and a third
// figure puts both together (every record applied and projected into D1).
// Starts its own `wrangler dev` on a free port with an isolated --persist-to dir, stops it after.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
// Not the protocol index: Node's type stripping cannot run strict-json.ts's parameter property.
import { nextRecord, signBatch } from "../../shared/protocol/chain.ts";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import type { ChainRecord } from "../../shared/protocol/schema.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const ADMIN = "bench-admin-token";
const SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
export const BATCH_RECORDS = 1000;
const BATCHES = Number(process.env.EDGE_INGEST_BATCHES ?? 12);
const FEATURES = ["MATLAB", "Simulink", "Signal_Toolbox", "Optimization_Toolbox", "Statistics_Toolbox", "Control_Toolbox", "Compiler", "Image_Toolbox"];
const HOUR = 3600_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** `vars`: extra bindings (development-only settings such as TALLY_DRAIN_DELAY_MS). */
export async function startEdge(persist: string, vars: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess }> {
  const migrate = spawnSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", persist], { cwd: ROOT, encoding: "utf8" });
  if (migrate.status !== 0) throw new Error(`migrations failed: ${migrate.stderr}`);
  const port = await freePort();
  const child = spawn("npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", persist,
    "--var", `ADMIN_TOKEN:${ADMIN}`, "--var", `EDGE_SIGNING_KEY:${SEED}`, "--var", "TALLY_ENV:development",
    ...Object.entries(vars).flatMap(([name, value]) => ["--var", `${name}:${value}`]), "--log-level", "warn"],
  { cwd: ROOT, detached: true, stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 120; i++) {
    try { if ((await fetch(`${url}/health`)).ok) return { url, child }; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  stopEdge(child);
  throw new Error("wrangler dev did not start within 60 s");
}

export function stopEdge(child: ChildProcess): void {
  // detached: the child leads its own process group (npx → wrangler → workerd); end exactly that group.
  if (child.pid) try { process.kill(-child.pid, "SIGTERM"); } catch { /* already gone */ }
}

export async function post(url: string, body: string, token?: string): Promise<any> {
  const res = await fetch(url, { method: "POST", body, headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url} → ${res.status} ${text}`);
  return JSON.parse(text);
}

export async function enrolledCollector(url: string, apiKey: string, publicKey: string): Promise<{ contractId: string; collectorId: string }> {
  const customer = await post(`${url}/v1/customers`, JSON.stringify({ name: "Bench plant" }), apiKey);
  const plan = { model: "token", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" }, overage: { policy: "block" } };
  const contract = await post(`${url}/v1/contracts`, JSON.stringify({ customer_id: customer.id, plan, start: "2020-01-01", timezone: "UTC" }), apiKey);
  const { enrollment_token } = await post(`${url}/v1/contracts/${contract.id}/enrollments`, "{}", apiKey);
  const enrolled = await post(`${url}/v1/enroll`, JSON.stringify({ enrollment_token, public_key: publicKey, site: "bench" }));
  return { contractId: contract.id, collectorId: enrolled.collector_id };
}

/** Signed batch bodies of realistic hourly usage intervals, built before any timing. */
export function batchBodies(collectorId: string, secretKey: string): string[] {
  const start = Date.now() - 30 * 24 * HOUR;
  const bodies: string[] = [];
  let head = { seq: 0, hash: ZERO_HASH };
  for (let b = 0; b <= BATCHES; b++) {
    const records: ChainRecord[] = [];
    for (let i = 0; i < BATCH_RECORDS; i++) {
      const n = b * BATCH_RECORDS + i;
      const hourStart = Math.floor(start / HOUR) * HOUR + Math.floor(n / 50) * HOUR;
      const record = nextRecord(collectorId, head, hourStart + HOUR + 5000, { kind: "usage", data: {
        source: "flexlm-plant7", daemon: "MLM", feature: FEATURES[n % FEATURES.length]!, version: "45.0",
        user: `user${String(n % 173).padStart(3, "0")}`, host: `ws-${String(n % 61).padStart(3, "0")}.plant7.example`,
        session: `MLM-${n % 50}-${Math.floor(n / 50)}`, start: hourStart, end: hourStart + HOUR, count: 1 + (n % 3), final: n % 7 === 0,
      } });
      records.push(record);
      head = { seq: record.seq, hash: hashCanonical(record) };
    }
    bodies.push(JSON.stringify(signBatch(records, Date.now(), secretKey)));
  }
  return bodies;
}

/** Sends the bodies in order (one chain: batches are sequential by nature); records/s after a warm-up batch. */
export async function recordsPerSecond(target: string, bodies: string[]): Promise<number> {
  await post(target, bodies[0]!);
  const t0 = performance.now();
  for (const body of bodies.slice(1)) await post(target, body);
  return ((bodies.length - 1) * BATCH_RECORDS) / ((performance.now() - t0) / 1000);
}

/**
 * Both paths' records/s, their batches sent alternately (baseline i, then rated i) and each request
 * timed on its own: a 2-core machine shared with other work changes speed by the second, and
 * alternating gives both paths the same machine, where timing one path after the other did not.
 */
export async function pairedRecordsPerSecond(a: { target: string; bodies: string[] }, b: { target: string; bodies: string[] }): Promise<[number, number]> {
  await post(a.target, a.bodies[0]!);
  await post(b.target, b.bodies[0]!);
  let msA = 0, msB = 0;
  for (let i = 1; i < a.bodies.length; i++) {
    const t0 = performance.now();
    await post(a.target, a.bodies[i]!);
    const t1 = performance.now();
    await post(b.target, b.bodies[i]!);
    msA += t1 - t0;
    msB += performance.now() - t1;
  }
  const records = (a.bodies.length - 1) * BATCH_RECORDS;
  return [records / (msA / 1000), records / (msB / 1000)];
}

export default async function edgeIngest(): Promise<BenchFigure[]> {
  const persist = mkdtempSync(join(tmpdir(), "tally-edge-ingest-"));
  // An hour: no alarm drains while the bench runs; the drain is started by the dev route below.
  const { url, child } = await startEdge(persist, { TALLY_DRAIN_DELAY_MS: String(HOUR) });
  try {
    const vendor = await post(`${url}/v1/vendors`, JSON.stringify({ name: "Bench vendor" }), ADMIN);
    const keys = generateKeyPair();
    const edge = await enrolledCollector(url, vendor.api_key, keys.publicKey);
    const base = await enrolledCollector(url, vendor.api_key, keys.publicKey);
    const edgeBodies = batchBodies(edge.collectorId, keys.secretKey);
    const baseBodies = batchBodies(base.collectorId, keys.secretKey);

    const [baseline, ingest] = await pairedRecordsPerSecond(
      { target: `${url}/__dev/contracts/${base.contractId}/baseline`, bodies: baseBodies },
      { target: `${url}/v1/collectors/${edge.collectorId}/batches`, bodies: edgeBodies });
    // Every applied record (the warm-up batch too) goes through the drain.
    const t0 = performance.now();
    const { remaining } = await post(`${url}/__dev/contracts/${edge.contractId}/drain`, "{}");
    const drainS = (performance.now() - t0) / 1000;
    if (remaining !== 0) throw new Error(`the drain left ${remaining} outbox rows`);
    const drained = edgeBodies.length * BATCH_RECORDS;
    const drainRate = drained / drainS;
    const setting = `${BATCHES} batches × ${BATCH_RECORDS} records, wrangler dev (local workerd)`;
    const against = "HTTP → DO hash + insert only";
    return [
      throughputFigure("edge ingest: rated apply (HTTP → Worker → ContractDO → outbox)", "records/s", ingest, against, baseline, `${setting}, sent alternately with the baseline's; the D1 drain held back`),
      throughputFigure("outbox drain into D1 (facts, rollups, records)", "records/s", drainRate, against, baseline, `${drained} records; local D1 runs on the DO's thread`),
      throughputFigure("apply then drain into D1 (both stages, per record)", "records/s", 1 / (1 / ingest + 1 / drainRate), against, baseline, "1 / (1/apply + 1/drain): what one thread does per record"),
    ];
  } finally {
    stopEdge(child);
    rmSync(persist, { recursive: true, force: true });
  }
}
