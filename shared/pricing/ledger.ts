// The usage ledger: rated pieces summed per (period, arrival period, segment, feature). It is
// what the ContractDO caches so that a balance read folds a few aggregates instead of re-rating
// history. Pieces are added on apply and subtracted when a session must be re-rated.
//
// Caching contract:
// - Build the ledger under the PricingTerms it was rated with; `ledger.fingerprint` records the
//   segment boundaries. Rates and rounding also matter, so after a plan version change or a new
//   grant, if `ledgerFits(ledger, terms)` is false (or a plan version took effect in a period
//   that already has usage) rebuild the affected periods with `ledgerFromIntervals`.
// - Apply each new interval with `rateNextInterval` and the session's cursor; when it answers
//   undefined (out-of-order interval), `removePieces(rateSession(old))` then
//   `addPieces(rateSession(old + new))`: rating is deterministic, so the same pieces come out.
// - Persist buckets as rows: units as bigint decimal TEXT, refs as a list.
import type { UsageInterval } from "./input.ts";
import { rateIntervals, type RatedPiece } from "./rate.ts";
import type { PricingTerms } from "./terms.ts";

export interface UsageBucket {
  period: number;
  arrival: number;
  segment: number;
  feature: string;
  license_ms: number;
  billed_ms: number;
  units: bigint;
  rated: boolean;
  refs: string[];
}

export interface UsageLedger {
  fingerprint: string;
  buckets: Map<string, UsageBucket>;
}

export function emptyLedger(terms: PricingTerms): UsageLedger {
  return { fingerprint: terms.fingerprint, buckets: new Map() };
}

/** Whether a ledger's segments still match the terms' boundaries. */
export function ledgerFits(ledger: UsageLedger, terms: PricingTerms): boolean {
  return ledger.fingerprint === terms.fingerprint;
}

const keyOf = (p: RatedPiece) => `${p.period}|${p.arrival}|${p.segment}|${p.feature}`;

export function addPieces(ledger: UsageLedger, pieces: RatedPiece[]): void {
  for (const p of pieces) {
    const key = keyOf(p);
    let b = ledger.buckets.get(key);
    if (!b) {
      b = { period: p.period, arrival: p.arrival, segment: p.segment, feature: p.feature, license_ms: 0, billed_ms: 0, units: 0n, rated: p.rated, refs: [] };
      ledger.buckets.set(key, b);
    }
    b.license_ms += p.license_ms;
    b.billed_ms += p.billed_ms;
    b.units += p.units;
    // An interval's pieces always fall in distinct buckets, so a ref is never pushed twice.
    b.refs.push(p.ref);
  }
}

export function removePieces(ledger: UsageLedger, pieces: RatedPiece[]): void {
  for (const p of pieces) {
    const key = keyOf(p);
    const b = ledger.buckets.get(key);
    if (!b) continue;
    b.license_ms -= p.license_ms;
    b.billed_ms -= p.billed_ms;
    b.units -= p.units;
    const at = b.refs.indexOf(p.ref);
    if (at >= 0) b.refs.splice(at, 1);
    if (b.refs.length === 0) ledger.buckets.delete(key);
  }
}

export function ledgerFromIntervals(terms: PricingTerms, intervals: UsageInterval[]): UsageLedger {
  const ledger = emptyLedger(terms);
  addPieces(ledger, rateIntervals(terms, intervals));
  return ledger;
}
