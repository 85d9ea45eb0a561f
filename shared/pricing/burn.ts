// Burning (DESIGN §6): a fold over time. Each period's usage, segment by segment in time order,
// first uses the period's included units, then the grants active in the segment (priority ↑,
// expires_at ↑ with never-expiring last, creation ↑), and what is left is overage.
//
// `burnPeriod` is one step of the fold: a period's buckets and the grants' remaining units at its
// start give its burn and the remaining units after it. The pure fold (`foldLedger`) chains the
// steps over every period; the ContractDO stores the state between periods so it re-runs only the
// periods a change reached (live/).
//
// Where units go is recorded as unit ranges: within a segment, usage is laid out in time order of
// its pieces (start, then record), and each consumer (included units, a grant, overage) takes the
// next [from, to) of that line. A statement line lists the records whose units fall in its ranges.
import type { UsageBucket, UsageLedger } from "./ledger.ts";
import { periodByIndex, type Period } from "./periods.ts";
import { burnOrder, grantActiveAt, versionIndexAt, type GrantTerms, type PricingTerms } from "./terms.ts";

/**
 * Remaining unit numerator per grant id. A state carried out of a period (`carriedState`) also holds
 * that period's end under the key `CARRIED_UNTIL`: a grant it does not list then has nothing left
 * when it had started by that end (exhausted, or expired), else its whole amount. Without that key
 * (a fold's own running state) a grant not listed still has its whole amount.
 */
export type GrantState = ReadonlyMap<string, bigint>;

/** Not a grant id (ids are never empty): the end of the period a carried state was taken at. */
export const CARRIED_UNTIL = "";

/** What grant `g` has left in `state`. */
export function leftOf(state: GrantState, g: { id: string; amount: bigint; active_from: number }): bigint {
  const left = state.get(g.id);
  if (left !== undefined) return left;
  const until = state.get(CARRIED_UNTIL);
  return until !== undefined && g.active_from < Number(until) ? 0n : g.amount;
}

/** Segment-local unit positions [from, to) over the segment's pieces in time order. */
export interface UnitRange { segment: number; from: bigint; to: bigint }

export interface FeatureUsage { feature: string; units: bigint; license_ms: number; billed_ms: number; draws: number; rated: boolean }

/** Usage no included unit or grant covered, in one segment, priced by the version in force there. */
export interface OverageChunk { segment: number; version: number; units: bigint; from: bigint }

export interface Consumption { units: bigint; ranges: UnitRange[] }

export interface PeriodBurn {
  period: Period;
  /** Version in force at the period start: its fees, included units, price and overage policy apply. */
  version: number;
  units: bigint;
  license_ms: number;
  billed_ms: number;
  by_feature: Map<string, FeatureUsage>;
  included: Consumption;
  /** Units burned per grant id in this period. */
  grants: Map<string, Consumption>;
  overage: OverageChunk[];
  overage_units: bigint;
  /** Draws and their units per (plan version, feature), keyed `${version}|${feature}`. */
  draws: Map<string, { version: number; feature: string; draws: number; units: bigint }>;
}

export interface Fold {
  periods: Map<number, PeriodBurn>;
  /** Unit numerator left per grant id after the folded periods. */
  remaining: Map<string, bigint>;
}

export function emptyPeriodBurn(terms: PricingTerms, period: Period): PeriodBurn {
  return {
    period, version: versionIndexAt(terms, period.start), units: 0n, license_ms: 0, billed_ms: 0,
    by_feature: new Map(), included: { units: 0n, ranges: [] }, grants: new Map(), overage: [], overage_units: 0n, draws: new Map(),
  };
}

const ordered = new WeakMap<PricingTerms, GrantTerms[]>();
function grantsInBurnOrder(terms: PricingTerms): GrantTerms[] {
  let list = ordered.get(terms);
  if (!list) { list = [...terms.grants].sort(burnOrder); ordered.set(terms, list); }
  return list;
}

/** The period's burn from its buckets (already filtered by arrival) and the grants' state at its start. */
export function burnPeriod(terms: PricingTerms, period: Period, start: GrantState, buckets: Iterable<UsageBucket>):
  { burn: PeriodBurn; remaining: Map<string, bigint> } {
  const segs = new Map<number, UsageBucket[]>();
  for (const b of buckets) {
    const list = segs.get(b.segment);
    if (list) list.push(b); else segs.set(b.segment, [b]);
  }
  const burn = emptyPeriodBurn(terms, period);
  const remaining = new Map(start);
  let included = terms.versions[burn.version]!.terms.included_units;
  for (const segment of [...segs.keys()].sort((a, b) => a - b)) {
    let need = 0n;
    for (const b of segs.get(segment)!) {
      need += b.units;
      burn.license_ms += b.license_ms;
      burn.billed_ms += b.billed_ms;
      const f = burn.by_feature.get(b.feature) ?? { feature: b.feature, units: 0n, license_ms: 0, billed_ms: 0, draws: 0, rated: b.rated };
      f.units += b.units; f.license_ms += b.license_ms; f.billed_ms += b.billed_ms; f.draws += b.draws;
      if (!b.rated) f.rated = false; // any of its usage the plan in force then did not price: listed as unrated
      burn.by_feature.set(b.feature, f);
      if (b.draws !== 0) {
        const version = versionIndexAt(terms, segment);
        const key = `${version}|${b.feature}`;
        const d = burn.draws.get(key) ?? { version, feature: b.feature, draws: 0, units: 0n };
        d.draws += b.draws; d.units += b.units;
        burn.draws.set(key, d);
      }
    }
    burn.units += need;
    if (need === 0n) continue;
    let at = 0n;
    const fromIncluded = included < need ? included : need;
    if (fromIncluded > 0n) {
      included -= fromIncluded; need -= fromIncluded;
      burn.included.units += fromIncluded; burn.included.ranges.push({ segment, from: at, to: at + fromIncluded });
      at += fromIncluded;
    }
    for (const g of grantsInBurnOrder(terms)) {
      if (need === 0n) break;
      const left = leftOf(remaining, g);
      if (left === 0n || !grantActiveAt(g, segment)) continue;
      const take = left < need ? left : need;
      remaining.set(g.id, left - take);
      need -= take;
      const c = burn.grants.get(g.id) ?? { units: 0n, ranges: [] };
      c.units += take; c.ranges.push({ segment, from: at, to: at + take });
      burn.grants.set(g.id, c);
      at += take;
    }
    if (need > 0n) {
      burn.overage.push({ segment, version: versionIndexAt(terms, segment), units: need, from: at });
      burn.overage_units += need;
    }
  }
  return { burn, remaining };
}

/**
 * The state carried to the next period: the grants started by its end that can still burn and have
 * units left. Exhausted and expired grants are left out (CARRIED_UNTIL says they have none), so the
 * state holds the live grants only and does not grow with every grant ever used up.
 */
export function carriedState(terms: PricingTerms, period: Period, remaining: GrantState): Map<string, bigint> {
  const out = new Map<string, bigint>([[CARRIED_UNTIL, BigInt(period.end)]]);
  for (const g of terms.grants) {
    if (g.active_from >= period.end) continue;
    if (g.expires_at !== null && g.expires_at <= period.end) continue;
    const left = leftOf(remaining, g);
    if (left !== 0n) out.set(g.id, left);
  }
  return out;
}

/**
 * Fold periods up to `lastPeriod` using the buckets that arrived by period `arrivalCutoff`
 * (Infinity: everything known). Deterministic in its inputs: arrival order never matters.
 */
export function foldLedger(terms: PricingTerms, ledger: UsageLedger, lastPeriod: number, arrivalCutoff = Infinity): Fold {
  const byPeriod = new Map<number, UsageBucket[]>();
  for (const b of ledger.buckets.values()) {
    if (b.period > lastPeriod || b.arrival > arrivalCutoff) continue;
    const list = byPeriod.get(b.period);
    if (list) list.push(b); else byPeriod.set(b.period, [b]);
  }
  let state: GrantState = new Map();
  const periods = new Map<number, PeriodBurn>();
  for (const index of [...byPeriod.keys()].sort((a, b) => a - b)) {
    const { burn, remaining } = burnPeriod(terms, periodByIndex(terms.contract, index), state, byPeriod.get(index)!);
    periods.set(index, burn);
    state = remaining;
  }
  return { periods, remaining: new Map(terms.grants.map((g) => [g.id, leftOf(state, g)])) };
}
