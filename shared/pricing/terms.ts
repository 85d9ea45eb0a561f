// Everything rating and burning need, resolved once from the plain input: plan versions in
// order, grants with their active span, and the instants where usage must be split (segment
// boundaries besides period starts).
import { DecimalError, parseScaled } from "../decimal/decimal.ts";
import { PricingError } from "./errors.ts";
import type { ContractInput, GrantInput, PlanVersion } from "./input.ts";
import { periodAt, periodByIndex, periodIndexAt } from "./periods.ts";
import { parsePlan } from "./plan-schema.ts";
import { planTerms, type PlanTerms } from "./plan-terms.ts";
import { DEFAULT_STATEMENT_GRACE_H } from "./periods.ts";
import { MS_PER_HOUR, SCALE } from "./units.ts";

export interface VersionTerms { effective_at: number; terms: PlanTerms }

export interface GrantTerms {
  id: string;
  amount: bigint;
  priority: number;
  /** As given or defaulted (start of the period containing created_at). */
  effective_at: number;
  /** effective_at moved past any period already closed when the grant was created. */
  active_from: number;
  expires_at: number | null;
  created_at: number;
}

export interface PricingTerms {
  contract: ContractInput;
  versions: VersionTerms[];
  grants: GrantTerms[];
  /** Sorted, unique instants (besides period starts) where usage is split into segments. */
  boundaries: number[];
  /** Whether any version rates a feature by a draw (use window, checkout). */
  draws: boolean;
}

export function pricingTerms(contract: ContractInput, plans: PlanVersion[], grants: GrantInput[]): PricingTerms {
  if (plans.length === 0) throw new PricingError("no_plan", "the contract has no plan version");
  const versions = plans.map((v, i) => {
    const parsed = parsePlan(v.plan);
    if (!parsed.ok) throw new PricingError("invalid_plan", `plans[${i}]: ${parsed.field} ${parsed.message}`);
    if (!Number.isSafeInteger(v.effective_at)) throw new PricingError("invalid_input", `plans[${i}].effective_at must be ms`);
    return { effective_at: v.effective_at, terms: planTerms(parsed.plan) };
  }).sort((a, b) => a.effective_at - b.effective_at);
  const first = versions[0]!.terms;
  for (const v of versions) {
    if (v.terms.currency !== first.currency || v.terms.unit_name !== first.unit_name) {
      throw new PricingError("invalid_input", "currency and unit_name never change over a contract");
    }
  }
  if (plans.some((v) => v.plan.period !== contract.period)) throw new PricingError("invalid_input", "plan.period must equal contract.period");
  const graceMs = (contract.statement_grace_h ?? DEFAULT_STATEMENT_GRACE_H) * Number(MS_PER_HOUR);
  const grantTerms = grants.map((g) => grantOf(contract, g, graceMs));
  const set = new Set<number>();
  for (const v of versions.slice(1)) set.add(v.effective_at);
  // A grant that expires before it can start (back-dated into a period closed when it was created)
  // burns nothing and cuts nothing: its expiry would re-cut a closed period's segments, and with
  // them the records its frozen lines name.
  for (const g of grantTerms) if (canBurn(g)) { set.add(g.active_from); if (g.expires_at !== null) set.add(g.expires_at); }
  // A boundary on a period start splits nothing more: leaving it out keeps stored segments valid.
  const boundaries = [...set].filter((b) => periodAt(contract, b).start !== b).sort((a, b) => a - b);
  const draws = versions.some((v) => [...v.terms.rates.values()].some((r) => r.per !== "hour"));
  return { contract, versions, grants: grantTerms, boundaries, draws };
}

function grantOf(contract: ContractInput, g: GrantInput, graceMs: number): GrantTerms {
  let amount: bigint;
  try { amount = parseScaled(g.amount, SCALE) * MS_PER_HOUR; } catch (e) {
    if (e instanceof DecimalError) throw new PricingError("invalid_input", `grant ${g.id}: amount ${e.message}`);
    throw e;
  }
  if (amount <= 0n) throw new PricingError("invalid_input", `grant ${g.id}: amount must be positive`);
  const effective_at = g.effective_at ?? periodAt(contract, g.created_at).start;
  // A grant never reaches into a period whose statement was already frozen when it was created.
  const firstOpen = periodByIndex(contract, periodIndexAt(contract, g.created_at - graceMs)).start;
  return {
    id: g.id, amount, priority: g.priority ?? 0, effective_at,
    active_from: Math.max(effective_at, firstOpen),
    expires_at: g.expires_at ?? null, created_at: g.created_at,
  };
}

/** Whether grant `g` is ever active: it expires after its active start (or never). */
export function canBurn(g: GrantTerms): boolean {
  return g.expires_at === null || g.expires_at > g.active_from;
}

/** Index into terms.versions of the version in force at `ts`. */
export function versionIndexAt(terms: PricingTerms, ts: number): number {
  const vs = terms.versions;
  let lo = 0, hi = vs.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (vs[mid]!.effective_at <= ts) lo = mid; else hi = mid - 1;
  }
  return lo;
}

export function versionAt(terms: PricingTerms, ts: number): VersionTerms {
  return terms.versions[versionIndexAt(terms, ts)]!;
}

/** Burn order: priority ↑, then expires_at ↑ (never-expiring last), then creation ↑, then id. */
export function burnOrder(a: GrantTerms, b: GrantTerms): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  const ea = a.expires_at ?? Infinity, eb = b.expires_at ?? Infinity;
  if (ea !== eb) return ea < eb ? -1 : 1;
  if (a.created_at !== b.created_at) return a.created_at - b.created_at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether grant `g` is active throughout the segment starting at `at`. */
export function grantActiveAt(g: GrantTerms, at: number): boolean {
  return g.active_from <= at && (g.expires_at === null || at < g.expires_at);
}

/** Start of the segment containing `ts`: its period's start or the last boundary at or before it. */
export function segmentStartAt(terms: PricingTerms, ts: number): number {
  const start = periodAt(terms.contract, ts).start;
  let lo = 0, hi = terms.boundaries.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (terms.boundaries[mid]! <= ts) lo = mid + 1; else hi = mid; }
  return lo > 0 ? Math.max(start, terms.boundaries[lo - 1]!) : start;
}

/** End of the segment containing `ts`: the next boundary or its period's end. */
export function segmentEndAfter(terms: PricingTerms, ts: number): number {
  const end = periodAt(terms.contract, ts).end;
  const next = terms.boundaries.find((b) => b > ts);
  return next !== undefined && next < end ? next : end;
}
