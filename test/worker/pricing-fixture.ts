// Test fixture for pricing at the edge: a contract with any plan and several enrolled sites,
// usage records sent as signed batches, and the same inputs handed to the pure shared/pricing
// functions — so a test can assert that the edge's live figures equal the pure computation.
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import {
  computeBalance, computeStatement, type GrantInput, type PlanVersion, type PricingInput, type Statement, type UsageInterval,
} from "../../shared/pricing/index.ts";
import { generateKeyPair, type ChainRecord, type UsageData } from "../../shared/protocol/index.ts";
import { call, createVendor, HOUR, NOW, ok, postBatch, SiteChain, type Vendor } from "./edge-fixture.ts";

export { HOUR, NOW };

/** A plan of the given model with everything else a contract needs. */
export function planOf(model: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model, currency: "USD", unit_name: "token", period: "month",
    rates: { MATLAB: "1", "*": "0.5" }, rounding: { increment_s: 60, minimum_s: 300, grace_s: 0 }, ...extra,
  };
}

export const PRICE = { mode: "graduated", tiers: [{ up_to: "10", unit_price: "0.40", flat_fee: "1" }, { up_to: null, unit_price: "0.30" }] };

export interface Site { id: string; chain: SiteChain; sent: number }

export interface PricedContract {
  vendor: Vendor; id: string; start: string; timezone: string; grace_h: number;
  plans: PlanVersion[]; grants: GrantInput[]; intervals: UsageInterval[]; sites: Site[];
}

/** 2026-11-01 in Europe/Berlin, as the API answers `start_at`. */
export async function pricedContract(plan: Record<string, unknown>, options: { start?: string; sites?: number; grace_h?: number; now?: number; expected_sync_s?: number } = {}): Promise<PricedContract> {
  const vendor = await createVendor();
  const now = options.now ?? NOW;
  const customer = await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: "Plant 7" }, now }), 201);
  const start = options.start ?? "2026-11-01";
  const grace_h = options.grace_h ?? 72;
  const contract = await ok(await call("POST", "/v1/contracts", {
    token: vendor.api_key, now,
    body: { customer_id: customer.id, plan, start, timezone: "Europe/Berlin", statement_grace_h: grace_h, ...(options.expected_sync_s ? { expected_sync_s: options.expected_sync_s } : {}) },
  }), 201);
  const sites: Site[] = [];
  for (let i = 0; i < (options.sites ?? 1); i++) {
    const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key, now }), 201);
    const keys = generateKeyPair();
    const enrolled = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site: `site-${i + 1}` }, now }), 201);
    sites.push({ id: enrolled.collector_id, chain: new SiteChain(enrolled.collector_id, keys.secretKey), sent: 0 });
  }
  return {
    vendor, id: contract.id, start, timezone: "Europe/Berlin", grace_h,
    plans: [{ effective_at: Date.parse(contract.start_at), plan: plan as PlanVersion["plan"] }], grants: [], intervals: [], sites,
  };
}

/** Appends a usage record to a site's chain (not sent yet). */
export function appendUsage(site: Site, data: Partial<UsageData> & { start: number; end: number }, ts = NOW - HOUR): ChainRecord {
  return site.chain.append({ kind: "usage", data: {
    source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "ada", host: "ws-01", session: "s-1", count: 1, final: true, ...data,
  } }, ts);
}

/** Sends a site's unsent records up to `to` (default all) in one batch, at `now`; records them as pure inputs. */
export async function send(c: PricedContract, site: Site, now = NOW, to = site.chain.records.length): Promise<void> {
  const from = site.sent + 1;
  if (to < from) return;
  await ok(await postBatch(site.id, site.chain.batch(from, to), { now }));
  for (const r of site.chain.records.slice(from - 1, to)) {
    if (r.kind !== "usage") continue;
    const d = r.data as UsageData;
    c.intervals.push({ ref: `${site.id}:${r.seq}`, session: `${site.id}:${d.session}`, feature: d.feature, start: d.start, end: d.end, count: d.count, received_at: now });
  }
  site.sent = to;
}

export async function grant(c: PricedContract, body: Record<string, unknown>, now = NOW): Promise<any> {
  const g = await ok(await call("POST", `/v1/contracts/${c.id}/grants`, { token: c.vendor.api_key, body, now }), 201);
  c.grants.push({
    id: g.id, amount: g.amount, priority: g.priority, created_at: now,
    effective_at: g.effective_at === null ? null : Date.parse(g.effective_at), expires_at: g.expires_at === null ? null : Date.parse(g.expires_at),
  });
  return g;
}

export function pureInput(c: PricedContract, frozen: Statement[] = []): PricingInput {
  return {
    contract: { start: c.start, timezone: c.timezone, period: "month", statement_grace_h: c.grace_h },
    plans: c.plans, grants: c.grants, intervals: c.intervals, frozen,
  };
}

/** The pure balance without `as_of` (the edge prints instants in whole seconds). */
export function pureBalance(c: PricingInput | PricedContract, asOf = NOW): Record<string, unknown> {
  const input = "contract" in c ? c : pureInput(c);
  const { as_of: _, ...rest } = computeBalance(input, asOf);
  return rest;
}

/** The pure statement as the API prints it: contract_id added, line refs left out. */
export function pureStatement(c: PricedContract, periodStart: string, frozen: Statement[] = []): Record<string, unknown> {
  const s = computeStatement(pureInput(c, frozen), periodStart);
  return { contract_id: c.id, ...s, lines: s.lines.map(({ refs: _, ...l }) => l) };
}

export async function balanceOf(c: PricedContract, now = NOW): Promise<any> {
  return ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key, now }));
}

export async function statementOf(c: PricedContract, period?: string, now = NOW, accept?: string): Promise<Response> {
  return call("GET", `/v1/contracts/${c.id}/statement${period ? `?period=${period}` : ""}`, { token: c.vendor.api_key, now, ...(accept ? { headers: { Accept: accept } } : {}) });
}

/** A seeded PRNG: tests print the seed and replay with SEED=. */
export const prng = mulberry32;
