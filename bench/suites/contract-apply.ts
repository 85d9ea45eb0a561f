// ContractDO apply with pricing: records/s through HTTP → Worker → ContractDO when every usage
// record is rated (rounding, segment cuts at two grants' boundaries, session cursors) and the
// ledger, grant burn and balance cache are kept live — beside the same ingest into a contract
// whose scope excludes the records' daemon, so they are verified, stored and projected but never
// rated (the skeleton's plain ingest path, measured in the same run). Then balance read latency
// (p50/p99, 8 concurrent clients) against GET /health on the same workerd. And draws: the same
// short sessions (one record each, so every record is a use) into a contract with daily use
// windows and checkouts against one rated by license-hours, and one with every feature per
// checkout (credits per job) against another (issue 15, goal ≥ 0.8).
// Each pair's batches are sent alternately (pairedRecordsPerSecond) and the alarm's drain into D1
// is held back while they are timed, as in edge-ingest: local D1 runs on the DO's thread, and run
// one after the other each phase paid for the drain of the phase before it, which hid the draws
// path's own cost (0.55 so; 0.27 alternated, before sql-draw-store.ts cached each key's last use
// and draw and put uses and draws among the pending rows). The rated contract is then drained (dev
// route) for the reads.
// Starts its own `wrangler dev` (bench/suites/edge-ingest.ts), stops it after.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nextRecord, signBatch } from "../../shared/protocol/chain.ts";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import type { ChainRecord } from "../../shared/protocol/schema.ts";
import { latencyFigure, throughputFigure, type BenchFigure } from "../figure.ts";
import { BATCH_RECORDS, pairedRecordsPerSecond, post, startEdge, stopEdge } from "./edge-ingest.ts";

const ADMIN = "bench-admin-token";
const BATCHES = Number(process.env.CONTRACT_APPLY_BATCHES ?? 8);
const READERS = 8;
const READS_PER_READER = 60;
const FEATURES = ["MATLAB", "Simulink", "Signal_Toolbox", "Optimization_Toolbox", "Statistics_Toolbox", "Control_Toolbox", "Compiler", "Image_Toolbox"];
const HOUR = 3600_000;
const DAY = 24 * HOUR;
// The contract starts 9 days ago (UTC midnight) and the usage covers the days since: all of it is
// in the open period, received on time, as a live site would send it.
const CONTRACT_START = Math.floor((Date.now() - 9 * DAY) / DAY) * DAY;
const START = CONTRACT_START + 12 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

const HOUR_RATES = { MATLAB: "1", Simulink: "0.75", "*": "0.5" };
const CHECKOUT_RATES = { "*": { per: "checkout", units: "2" } };
export const DRAW_RATES = { MATLAB: { per: "use_window", units: "7" }, Simulink: { per: "use_window", units: "3", window_s: 43_200, key: ["user"] }, Compiler: { per: "checkout", units: "2" }, "*": "0.5" };

function plan(daemon: string, rates: Record<string, unknown> = HOUR_RATES) {
  return {
    model: "prepaid_overage", currency: "USD", unit_name: "token", period: "month", scope: [{ daemon, features: ["*"] }],
    rates, rounding: { increment_s: 60, minimum_s: 300, grace_s: 0 },
    price: { mode: "graduated", tiers: [{ up_to: "5000", unit_price: "0.40" }, { up_to: null, unit_price: "0.30" }] },
    overage: { policy: "allow" },
  };
}

async function contractWithSite(url: string, apiKey: string, publicKey: string, daemon: string, rates?: Record<string, unknown>): Promise<{ contractId: string; collectorId: string }> {
  const customer = await post(`${url}/v1/customers`, JSON.stringify({ name: "Bench plant" }), apiKey);
  const contract = await post(`${url}/v1/contracts`, JSON.stringify({ customer_id: customer.id, plan: plan(daemon, rates), start: iso(CONTRACT_START).slice(0, 10), timezone: "UTC" }), apiKey);
  // Two grants with boundaries inside the first period, so usage is cut into segments and burned.
  await post(`${url}/v1/contracts/${contract.id}/grants`, JSON.stringify({ amount: "2000", priority: 1, idempotency_key: "base" }), apiKey);
  await post(`${url}/v1/contracts/${contract.id}/grants`, JSON.stringify({ amount: "500", effective_at: iso(START + 2 * DAY), expires_at: iso(START + 5 * DAY), idempotency_key: "promo" }), apiKey);
  const { enrollment_token } = await post(`${url}/v1/contracts/${contract.id}/enrollments`, "{}", apiKey);
  const enrolled = await post(`${url}/v1/enroll`, JSON.stringify({ enrollment_token, public_key: publicKey, site: "bench" }));
  return { contractId: contract.id, collectorId: enrolled.collector_id };
}

/** 50 long sessions, each reported as hourly intervals in order (the session-cursor path); or, `short`,
 * a new session per record (each a use of its user and feature: the draw path). */
export function batchBodies(collectorId: string, secretKey: string, short = false): string[] {
  const bodies: string[] = [];
  let head = { seq: 0, hash: ZERO_HASH };
  for (let b = 0; b <= BATCHES; b++) {
    const records: ChainRecord[] = [];
    for (let i = 0; i < BATCH_RECORDS; i++) {
      const n = b * BATCH_RECORDS + i;
      const s = n % 50;
      const hourStart = START + Math.floor(n / 50) * HOUR;
      const record = nextRecord(collectorId, head, hourStart + HOUR + 5000, { kind: "usage", data: {
        source: "flexlm-plant7", daemon: "MLM", feature: FEATURES[s % FEATURES.length]!, version: "45.0",
        user: `user${String(s).padStart(3, "0")}`, host: `ws-${String(s % 61).padStart(3, "0")}.plant7.example`,
        session: short ? `MLM-${n}` : `MLM-${s}`, start: hourStart, end: hourStart + HOUR - (s % 7) * 1000, count: 1 + (s % 3), final: false,
      } });
      records.push(record);
      head = { seq: record.seq, hash: hashCanonical(record) };
    }
    bodies.push(JSON.stringify(signBatch(records, Date.now(), secretKey)));
  }
  return bodies;
}

/** p50 and p99 of GET latencies (ms) with READERS concurrent clients. */
async function latencies(url: string, token?: string): Promise<{ p50: number; p99: number }> {
  const headers = token ? { Authorization: `Bearer ${token}` } : undefined;
  const once = async () => { const t = performance.now(); const res = await fetch(url, { headers }); await res.text(); if (!res.ok) throw new Error(`${url} → ${res.status}`); return performance.now() - t; };
  for (let i = 0; i < 10; i++) await once();
  const samples = (await Promise.all(Array.from({ length: READERS }, async () => {
    const mine: number[] = [];
    for (let i = 0; i < READS_PER_READER; i++) mine.push(await once());
    return mine;
  }))).flat().sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p99: at(0.99) };
}

/** Waits until the outbox drained into D1 (usage history = live balance), so reads are measured
 * against other reads, not against the drain's projection of 9,000 records. */
async function drained(url: string, contractId: string, token: string): Promise<void> {
  const get = async (path: string) => (await fetch(`${url}${path}`, { headers: { Authorization: `Bearer ${token}` } })).json() as Promise<any>;
  const from = iso(CONTRACT_START), to = iso(Math.floor(Date.now() / DAY) * DAY + DAY); // usage ranges are whole hours
  for (let i = 0; i < 120; i++) {
    const [usage, balance] = await Promise.all([get(`/v1/contracts/${contractId}/usage?from=${from}&to=${to}`), get(`/v1/contracts/${contractId}/balance`)]);
    if (usage.items?.[0]?.license_seconds === balance.usage.license_seconds) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("the outbox did not drain to D1 within 60 s");
}

export default async function contractApply(): Promise<BenchFigure[]> {
  const persist = mkdtempSync(join(tmpdir(), "tally-contract-apply-"));
  // An hour: no alarm drains while the batches are timed.
  const { url, child } = await startEdge(persist, { TALLY_DRAIN_DELAY_MS: String(HOUR) });
  try {
    const vendor = await post(`${url}/v1/vendors`, JSON.stringify({ name: "Bench vendor" }), ADMIN);
    const keys = generateKeyPair();
    const rated = await contractWithSite(url, vendor.api_key, keys.publicKey, "MLM");
    const plain = await contractWithSite(url, vendor.api_key, keys.publicKey, "NOT-METERED");
    const ratedBodies = batchBodies(rated.collectorId, keys.secretKey);
    const plainBodies = batchBodies(plain.collectorId, keys.secretKey);

    const hours = await contractWithSite(url, vendor.api_key, keys.publicKey, "MLM");
    const drawn = await contractWithSite(url, vendor.api_key, keys.publicKey, "MLM", DRAW_RATES);
    const hourBodies = batchBodies(hours.collectorId, keys.secretKey, true);
    const drawBodies = batchBodies(drawn.collectorId, keys.secretKey, true);
    // Credits per job: every feature per checkout, so every record opens a key of its own.
    const hours2 = await contractWithSite(url, vendor.api_key, keys.publicKey, "MLM");
    const checkouts = await contractWithSite(url, vendor.api_key, keys.publicKey, "MLM", CHECKOUT_RATES);
    const hour2Bodies = batchBodies(hours2.collectorId, keys.secretKey, true);
    const checkoutBodies = batchBodies(checkouts.collectorId, keys.secretKey, true);

    const batches = (collectorId: string, bodies: string[]) => ({ target: `${url}/v1/collectors/${collectorId}/batches`, bodies });
    const [baseline, apply] = await pairedRecordsPerSecond(batches(plain.collectorId, plainBodies), batches(rated.collectorId, ratedBodies));
    const [hourApply, drawApply] = await pairedRecordsPerSecond(batches(hours.collectorId, hourBodies), batches(drawn.collectorId, drawBodies));
    const [hour2Apply, checkoutApply] = await pairedRecordsPerSecond(batches(hours2.collectorId, hour2Bodies), batches(checkouts.collectorId, checkoutBodies));
    const { remaining } = await post(`${url}/__dev/contracts/${rated.contractId}/drain`, "{}");
    if (remaining !== 0) throw new Error(`the drain left ${remaining} outbox rows`);
    await drained(url, rated.contractId, vendor.api_key);
    const balance = await latencies(`${url}/v1/contracts/${rated.contractId}/balance`, vendor.api_key);
    const health = await latencies(`${url}/health`);
    const notes = `${BATCHES} batches × ${BATCH_RECORDS} records (50 sessions, hourly intervals, 2 grants), wrangler dev (local workerd)`;
    const readNotes = `${READERS} concurrent clients × ${READS_PER_READER} reads, ${(BATCHES + 1) * BATCH_RECORDS} rated records in the ledger`;
    return [
      throughputFigure("contract apply with rating + grant burn (HTTP → Worker → ContractDO)", "records/s", apply, "same ingest, records out of scope (never rated)", baseline, notes),
      throughputFigure("contract apply, use windows + checkouts (a session per record)", "records/s", drawApply, "same records, license-hours plan", hourApply,
        `${(BATCHES + 1) * BATCH_RECORDS} one-record sessions of 50 users; daily MATLAB windows, 12 h Simulink windows per user, Compiler checkouts (goal ≥ 0.8)`),
      throughputFigure("contract apply, every feature per checkout (a session per record)", "records/s", checkoutApply, "same records, license-hours plan", hour2Apply,
        `${(BATCHES + 1) * BATCH_RECORDS} one-record sessions: every record a checkout of its own key (goal ≥ 0.8)`),
      latencyFigure("GET balance p50 (cached per DO state)", "ms", balance.p50, "GET /health p50", health.p50, readNotes),
      latencyFigure("GET balance p99 (cached per DO state)", "ms", balance.p99, "GET /health p99", health.p99, readNotes),
    ];
  } finally {
    stopEdge(child);
    rmSync(persist, { recursive: true, force: true });
  }
}
