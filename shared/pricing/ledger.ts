// The usage ledger: rated pieces summed per (period, segment, arrival period, feature). Pieces are
// added on apply and subtracted when a session is re-rated. A bucket counts its pieces so that it
// disappears exactly when its last piece leaves; it never lists them (that would grow with history).
// The ContractDO keeps the same buckets as rows (live/); this in-memory form is the oracle the
// live ledger is tested against and what `computeBalance`/`computeStatement` fold.
import type { UsageInterval } from "./input.ts";
import { rateIntervals } from "./rate-intervals.ts";
import type { RatedPiece } from "./rate.ts";
import type { PricingTerms } from "./terms.ts";

export interface BucketKey { period: number; segment: number; arrival: number; feature: string }

export interface UsageBucket extends BucketKey {
  license_ms: number;
  billed_ms: number;
  units: bigint;
  /** false when the plan version of the segment rates neither the feature nor "*". */
  rated: boolean;
  /** Draws counted (windows opened, licenses checked out). */
  draws: number;
  pieces: number;
}

export interface UsageLedger {
  buckets: Map<string, UsageBucket>;
}

export function bucketKey(k: BucketKey): string {
  return `${k.period}|${k.segment}|${k.arrival}|${k.feature}`;
}

export function emptyLedger(): UsageLedger {
  return { buckets: new Map() };
}

/** Adds (sign 1) or subtracts (sign -1) one piece; the last piece out removes the bucket. */
export function movePiece(buckets: Map<string, UsageBucket>, p: RatedPiece, sign: 1 | -1): void {
  const key = bucketKey(p);
  let b = buckets.get(key);
  if (!b) {
    if (sign < 0) return;
    b = { period: p.period, segment: p.segment, arrival: p.arrival, feature: p.feature, license_ms: 0, billed_ms: 0, units: 0n, rated: p.rated, draws: 0, pieces: 0 };
    buckets.set(key, b);
  }
  b.license_ms += sign * p.license_ms;
  b.billed_ms += sign * p.billed_ms;
  b.units += sign > 0 ? p.units : -p.units;
  b.draws += sign * p.draws;
  b.pieces += sign;
  if (sign > 0) b.rated = p.rated;
  if (b.pieces <= 0) buckets.delete(key);
}

export function addPieces(ledger: UsageLedger, pieces: RatedPiece[]): void {
  for (const p of pieces) movePiece(ledger.buckets, p, 1);
}

export function removePieces(ledger: UsageLedger, pieces: RatedPiece[]): void {
  for (const p of pieces) movePiece(ledger.buckets, p, -1);
}

export function ledgerFromIntervals(terms: PricingTerms, intervals: UsageInterval[]): UsageLedger {
  const ledger = emptyLedger();
  addPieces(ledger, rateIntervals(terms, intervals));
  return ledger;
}
