// Usage history from D1's hourly rollups (DESIGN.md §7), on a contract with USAGE_BENCH_RECORDS
// records (default 30,000: 300 users × 100 one-hour sessions over 60 days) through HTTP →
// Worker → ContractDO → outbox → D1:
//   - drain: records/s from the first batch until `GET …/usage` shows all of their license time,
//     beside the apply rate of the same batches (the drain keeps up when the ratio is ≥ 1);
//   - GET …/usage latency (p50) for 60 days grouped by user (300 groups, one page), beside the same
//     query for 1 day: the Worker holds one page either way, D1 scans the range's rollup rows.
// Starts its own `wrangler dev` (edge-ingest.ts), stops it after.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nextRecord, signBatch } from "../../shared/protocol/chain.ts";
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import type { ChainRecord } from "../../shared/protocol/schema.ts";
import { latencyFigure, throughputFigure, type BenchFigure } from "../figure.ts";
import { BATCH_RECORDS, post, startEdge, stopEdge } from "./edge-ingest.ts";

const ADMIN = "bench-admin-token";
const RECORDS = Number(process.env.USAGE_BENCH_RECORDS ?? 30_000);
const USERS = 300;
const DAYS = 60;
const HOUR = 3600_000;
const DAY = 24 * HOUR;
const TODAY = Math.floor(Date.now() / DAY) * DAY;
const CONTRACT_START = TODAY - (DAYS + 5) * DAY;
const FIRST = TODAY - DAYS * DAY;
const FEATURES = ["MATLAB", "Simulink", "Signal_Toolbox", "Optimization_Toolbox", "Compiler"];
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/** One-hour sessions: record n is user n % USERS's session at an hour spread over the 60 days. */
function batchBodies(collectorId: string, secretKey: string): { bodies: string[]; licenseSeconds: number } {
  const bodies: string[] = [];
  let head = { seq: 0, hash: ZERO_HASH };
  let licenseSeconds = 0;
  for (let b = 0; b * BATCH_RECORDS < RECORDS; b++) {
    const records: ChainRecord[] = [];
    for (let i = 0; i < BATCH_RECORDS && b * BATCH_RECORDS + i < RECORDS; i++) {
      const n = b * BATCH_RECORDS + i;
      const start = FIRST + (Math.floor(n / USERS) * 7 % (DAYS * 24)) * HOUR + (n % USERS) * 11_000;
      const count = 1 + (n % 2);
      const record = nextRecord(collectorId, head, start + HOUR, { kind: "usage", data: {
        source: "bench", daemon: "MLM", feature: FEATURES[n % FEATURES.length]!, user: `user${n % USERS}`, host: `ws-${n % 97}`,
        session: `s${n}`, start, end: start + HOUR, count, final: true,
      } });
      licenseSeconds += 3600 * count;
      records.push(record);
      head = { seq: record.seq, hash: hashCanonical(record) };
    }
    bodies.push(JSON.stringify(signBatch(records, Date.now(), secretKey)));
  }
  return { bodies, licenseSeconds };
}

async function get(url: string, token: string): Promise<any> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  const body = await res.json();
  if (!res.ok) throw new Error(`${url} → ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function p50(url: string, token: string, n = 30): Promise<number> {
  for (let i = 0; i < 3; i++) await get(url, token);
  const samples: number[] = [];
  for (let i = 0; i < n; i++) { const t = performance.now(); await get(url, token); samples.push(performance.now() - t); }
  return samples.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

export default async function usageHistory(): Promise<BenchFigure[]> {
  const persist = mkdtempSync(join(tmpdir(), "tally-usage-history-"));
  const { url, child } = await startEdge(persist);
  try {
    const vendor = await post(`${url}/v1/vendors`, JSON.stringify({ name: "Bench vendor" }), ADMIN);
    const customer = await post(`${url}/v1/customers`, JSON.stringify({ name: "Bench plant" }), vendor.api_key);
    const plan = { model: "pay_per_use", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" }, price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.30" }] } };
    const contract = await post(`${url}/v1/contracts`, JSON.stringify({ customer_id: customer.id, plan, start: iso(CONTRACT_START).slice(0, 10), timezone: "UTC" }), vendor.api_key);
    const { enrollment_token } = await post(`${url}/v1/contracts/${contract.id}/enrollments`, "{}", vendor.api_key);
    const keys = generateKeyPair();
    const enrolled = await post(`${url}/v1/enroll`, JSON.stringify({ enrollment_token, public_key: keys.publicKey, site: "bench" }));
    const { bodies, licenseSeconds } = batchBodies(enrolled.collector_id, keys.secretKey);

    const total = `${url}/v1/contracts/${contract.id}/usage?from=${iso(FIRST)}&to=${iso(TODAY + DAY)}`;
    const t0 = performance.now();
    for (const body of bodies) await post(`${url}/v1/collectors/${enrolled.collector_id}/batches`, body);
    const applySeconds = (performance.now() - t0) / 1000;
    for (let i = 0; ; i++) {
      if ((await get(total, vendor.api_key)).items[0]?.license_seconds === licenseSeconds) break;
      if (i > 1200) throw new Error("the outbox did not drain to D1 within 10 minutes");
      await new Promise((r) => setTimeout(r, 250));
    }
    const drainSeconds = (performance.now() - t0) / 1000;

    const byUser = (from: number, to: number) => `${url}/v1/contracts/${contract.id}/usage?from=${iso(from)}&to=${iso(to)}&group_by=user&limit=1000`;
    const wide = await p50(byUser(FIRST, TODAY + DAY), vendor.api_key);
    const narrow = await p50(byUser(FIRST + 30 * DAY, FIRST + 31 * DAY), vendor.api_key);
    const notes = `${RECORDS} records (${USERS} users, 1-hour sessions over ${DAYS} days), batches of ${BATCH_RECORDS}, wrangler dev (local workerd + D1)`;
    return [
      throughputFigure("usage rollups: records drained to D1 per second (first batch → history complete)", "records/s", RECORDS / drainSeconds, "apply rate of the same batches", RECORDS / applySeconds, notes),
      latencyFigure(`GET usage p50, ${DAYS} days by user (${USERS} groups)`, "ms", wide, "same query, 1 day", narrow, notes),
    ];
  } finally {
    stopEdge(child);
    rmSync(persist, { recursive: true, force: true });
  }
}
