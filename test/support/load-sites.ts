// Simulated sites for load on a local edge (guarantee 7): contracts of one vendor, each with a
// status link, and per contract enrolled collectors, each with its own Ed25519 key and its own
// chain of realistic records (long sessions cut at the hour, multi-license checkouts, denials,
// heartbeats) signed into batches in-process with shared/protocol, as the collector would.
// The license-seconds each contract must end with are summed from the very records sent.
// Node-only and free of parameter properties: the bench runs it with Node's type stripping.
import { hashCanonical, ZERO_HASH } from "../../shared/protocol/canonical.ts";
import { nextRecord, signBatch } from "../../shared/protocol/chain.ts";
import { generateKeyPair } from "../../shared/protocol/signing.ts";
import type { ChainRecord, RecordBody } from "../../shared/protocol/schema.ts";
import { seededRandom } from "./seed.ts";
import { testNow } from "./test-clock.ts";

const HOUR = 3600_000;
const FEATURES = ["MATLAB", "Simulink", "Signal_Toolbox", "Optimization_Toolbox", "Statistics_Toolbox", "Compiler"];

export interface LoadSite {
  contractId: string;
  collectorId: string;
  /** Signed batch bodies (JSON), to be sent in order. */
  bodies: string[];
  /** The last seq of each body: the acked_seq its receipt must carry. */
  lastSeqs: number[];
}

export interface LoadContract {
  contractId: string;
  statusToken: string;
  sites: LoadSite[];
  /** license-seconds per feature of every usage record of its sites (all rateable). */
  truth: Map<string, number>;
}

export interface LoadFleet { vendorKey: string; contracts: LoadContract[]; records: number; batches: number }

export interface LoadShape {
  contracts: number;
  sitesPerContract: number;
  batchesPerSite: number;
  recordsPerBatch: number;
  seed: number;
}

async function call<T>(base: string, method: string, path: string, bearer: string | undefined, body: unknown): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const r = await fetch(base + path, { method, headers, body: JSON.stringify(body) });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Enrolls the sites and builds every signed batch before any load runs, so signing never
 *  competes with the edge for the CPU during a measurement. Records lie in [t0, t0 + 18 h), t0
 *  about a day ago, in contracts that start on t0's date: all of it in the open period. */
export async function enrollLoadFleet(edgeUrl: string, adminToken: string, shape: LoadShape): Promise<LoadFleet> {
  const t0 = Math.floor((testNow() - 20 * HOUR) / HOUR) * HOUR;
  const vendor = await call<{ api_key: string }>(edgeUrl, "POST", "/v1/vendors", adminToken, { name: "Load vendor" });
  const plan = {
    model: "pay_per_use", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" },
    rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 },
    price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.10", flat_fee: "0" }] },
    fixed_fee: "0", included_units: "0", minimum_commitment: "0", overage: { policy: "allow", limit_units: "0" },
  };
  // Contracts enroll in parallel, each with its own PRNG, so the records stay the same per seed.
  const contracts = await Promise.all(Array.from({ length: shape.contracts }, async (_, c): Promise<LoadContract> => {
    const random = seededRandom(shape.seed + 7919 * c);
    const customer = await call<{ id: string }>(edgeUrl, "POST", "/v1/customers", vendor.api_key, { name: `Plant ${c + 1}` });
    const contract = await call<{ id: string }>(edgeUrl, "POST", "/v1/contracts", vendor.api_key, {
      customer_id: customer.id, plan, start: new Date(t0).toISOString().slice(0, 10), timezone: "UTC",
    });
    const link = await call<{ token: string }>(edgeUrl, "POST", `/v1/contracts/${contract.id}/status-links`, vendor.api_key, {});
    const entry: LoadContract = { contractId: contract.id, statusToken: link.token, sites: [], truth: new Map() };
    for (let s = 0; s < shape.sitesPerContract; s++) {
      const { enrollment_token } = await call<{ enrollment_token: string }>(edgeUrl, "POST", `/v1/contracts/${contract.id}/enrollments`, vendor.api_key, {});
      const keys = generateKeyPair();
      const enrolled = await call<{ collector_id: string }>(edgeUrl, "POST", "/v1/enroll", undefined, {
        enrollment_token, public_key: keys.publicKey, site: `plant-${c + 1}-site-${s + 1}`,
      });
      entry.sites.push(siteBatches(contract.id, enrolled.collector_id, keys.secretKey, t0, shape, random, entry.truth));
    }
    return entry;
  }));
  const batches = contracts.reduce((n, c) => n + c.sites.reduce((m, s) => m + s.bodies.length, 0), 0);
  const records = batches * shape.recordsPerBatch;
  return { vendorKey: vendor.api_key, contracts, records, batches };
}

function siteBatches(contractId: string, collectorId: string, secretKey: string, t0: number, shape: LoadShape, random: () => number, truth: Map<string, number>): LoadSite {
  const bodies = recordBodies(shape.batchesPerSite * shape.recordsPerBatch, t0, random);
  const site: LoadSite = { contractId, collectorId, bodies: [], lastSeqs: [] };
  let head = { seq: 0, hash: ZERO_HASH };
  let batch: ChainRecord[] = [];
  for (const body of bodies) {
    const record = nextRecord(collectorId, head, t0 + 18 * HOUR, body);
    head = { seq: record.seq, hash: hashCanonical(record) };
    batch.push(record);
    if (body.kind === "usage") truth.set(body.data.feature, (truth.get(body.data.feature) ?? 0) + ((body.data.end - body.data.start) / 1000) * body.data.count);
    if (batch.length === shape.recordsPerBatch) {
      site.bodies.push(JSON.stringify(signBatch(batch, t0 + 18 * HOUR, secretKey)));
      site.lastSeqs.push(record.seq);
      batch = [];
    }
  }
  return site;
}

/** `count` record bodies of one site: sessions of 1–4 licenses lasting minutes to hours, reported
 *  as intervals cut at whole hours (final on the last), with a denial or heartbeat now and then. */
function recordBodies(count: number, t0: number, random: () => number): RecordBody[] {
  const out: RecordBody[] = [];
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
  let n = 0;
  while (out.length < count) {
    const feature = pick(FEATURES);
    const user = `user${String(Math.floor(random() * 173)).padStart(3, "0")}`;
    const host = `ws-${String(Math.floor(random() * 61)).padStart(3, "0")}.plant.example`;
    const roll = random();
    if (roll < 0.05) {
      out.push({ kind: "denial", data: { source: "flexlm-main", daemon: "MLM", feature, user, host, at: t0 + Math.floor(random() * 17 * 3600) * 1000, reason: "Licensed number of users already reached. (-4,342)" } });
      continue;
    }
    if (roll < 0.1) {
      out.push({ kind: "heartbeat", data: { sources: [{ source: "flexlm-main", up: true, at: t0 + Math.floor(random() * 17 * 3600) * 1000 }] } });
      continue;
    }
    const start = t0 + Math.floor(random() * 14 * 3600) * 1000;
    const end = start + (60 + Math.floor(random() * 3 * 3600)) * 1000;
    const licenses = random() < 0.2 ? 2 + Math.floor(random() * 3) : 1;
    const session = `MLM-${n++}-${Math.floor(random() * 1e9)}`;
    for (let a = start; a < end && out.length < count;) {
      const b = Math.min(end, (Math.floor(a / HOUR) + 1) * HOUR);
      out.push({ kind: "usage", data: { source: "flexlm-main", daemon: "MLM", feature, version: "45.0", user, host, session, start: a, end: b, count: licenses, final: b === end } });
      a = b;
    }
  }
  return out;
}

/** Sum of a contract's truth. */
export function truthTotal(contract: LoadContract): number {
  let total = 0;
  for (const s of contract.truth.values()) total += s;
  return total;
}
