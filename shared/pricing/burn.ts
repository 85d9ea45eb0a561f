// Burning (DESIGN §6): a fold over time. Each period's usage, segment by segment in time order,
// first uses the period's included units, then the grants active in the segment (priority ↑,
// expires_at ↑ with never-expiring last, creation ↑), and what is left is overage.
import type { UsageLedger, UsageBucket } from "./ledger.ts";
import { periodByIndex, type Period } from "./periods.ts";
import { burnOrder, grantActiveAt, versionIndexAt, type GrantTerms, type PricingTerms } from "./terms.ts";

export interface FeatureUsage { feature: string; units: bigint; license_ms: number; billed_ms: number; rated: boolean }

/** Usage no included unit or grant covered, in one segment, priced by the version in force there. */
export interface OverageChunk { segment: number; version: number; units: bigint; refs: string[] }

export interface Consumption { units: bigint; refs: Set<string> }

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
}

export interface Fold {
  periods: Map<number, PeriodBurn>;
  /** Unit numerator left per grant id after the folded periods. */
  remaining: Map<string, bigint>;
}

export function emptyPeriodBurn(terms: PricingTerms, period: Period): PeriodBurn {
  return {
    period, version: versionIndexAt(terms, period.start), units: 0n, license_ms: 0, billed_ms: 0,
    by_feature: new Map(), included: { units: 0n, refs: new Set() }, grants: new Map(), overage: [], overage_units: 0n,
  };
}

function addRefs(into: Set<string>, refs: string[]): void {
  for (const r of refs) into.add(r);
}

/**
 * Fold periods up to `lastPeriod` using the buckets that arrived by period `arrivalCutoff`
 * (Infinity: everything known). Deterministic in its inputs: arrival order never matters.
 */
export function foldLedger(terms: PricingTerms, ledger: UsageLedger, lastPeriod: number, arrivalCutoff = Infinity): Fold {
  const byPeriod = new Map<number, Map<number, UsageBucket[]>>();
  for (const b of ledger.buckets.values()) {
    if (b.period > lastPeriod || b.arrival > arrivalCutoff) continue;
    let segs = byPeriod.get(b.period);
    if (!segs) { segs = new Map(); byPeriod.set(b.period, segs); }
    const list = segs.get(b.segment);
    if (list) list.push(b); else segs.set(b.segment, [b]);
  }
  const remaining = new Map<string, bigint>(terms.grants.map((g) => [g.id, g.amount]));
  const ordered: GrantTerms[] = [...terms.grants].sort(burnOrder);
  const periods = new Map<number, PeriodBurn>();
  for (const index of [...byPeriod.keys()].sort((a, b) => a - b)) {
    const burn = emptyPeriodBurn(terms, periodByIndex(terms.contract, index));
    let included = terms.versions[burn.version]!.terms.included_units;
    const segs = byPeriod.get(index)!;
    for (const segment of [...segs.keys()].sort((a, b) => a - b)) {
      const buckets = segs.get(segment)!;
      let need = 0n;
      const refs: string[] = [];
      for (const b of buckets) {
        need += b.units;
        burn.license_ms += b.license_ms;
        burn.billed_ms += b.billed_ms;
        // Buckets of one segment differ by feature or arrival, so their refs are disjoint.
        for (const r of b.refs) refs.push(r);
        const f = burn.by_feature.get(b.feature) ?? { feature: b.feature, units: 0n, license_ms: 0, billed_ms: 0, rated: b.rated };
        f.units += b.units; f.license_ms += b.license_ms; f.billed_ms += b.billed_ms;
        burn.by_feature.set(b.feature, f);
      }
      burn.units += need;
      if (need === 0n) continue;
      const fromIncluded = included < need ? included : need;
      if (fromIncluded > 0n) {
        included -= fromIncluded; need -= fromIncluded;
        burn.included.units += fromIncluded; addRefs(burn.included.refs, refs);
      }
      for (const g of ordered) {
        if (need === 0n) break;
        const left = remaining.get(g.id)!;
        if (left === 0n || !grantActiveAt(g, segment)) continue;
        const take = left < need ? left : need;
        remaining.set(g.id, left - take);
        need -= take;
        const c = burn.grants.get(g.id) ?? { units: 0n, refs: new Set<string>() };
        c.units += take; addRefs(c.refs, refs);
        burn.grants.set(g.id, c);
      }
      if (need > 0n) {
        burn.overage.push({ segment, version: versionIndexAt(terms, segment), units: need, refs });
        burn.overage_units += need;
      }
    }
    periods.set(index, burn);
  }
  return { periods, remaining };
}
