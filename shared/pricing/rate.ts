// Rating (DESIGN §5): a session's intervals are cut at period starts and segment boundaries; a
// piece [a,b) is charged (billed(cum(b)) − billed(cum(a))) × count license-ms at the rate in
// force at a, so the pieces of a session always add up to the session rated whole.
import { PricingError } from "./errors.ts";
import type { UsageInterval } from "./input.ts";
import { periodAt, periodByIndex, periodCloseAt, periodIndexAt, type Period } from "./periods.ts";
import { rateOf, type Rounding } from "./plan-terms.ts";
import { versionAt, type PricingTerms } from "./terms.ts";

export interface RatedPiece {
  ref: string;
  feature: string;
  session: string;
  /** Index of the period the piece counts in (the one containing `start`). */
  period: number;
  /** The period whose statement carries it: `period` when on time, else the period it arrived in. */
  arrival: number;
  /** Start of the segment (between consecutive boundaries) that contains `start`. */
  segment: number;
  start: number;
  end: number;
  /** (end − start) × count. */
  license_ms: number;
  /** Billed license-ms after the session's rounding. */
  billed_ms: number;
  /** Unit numerator over UNIT_DEN. */
  units: bigint;
  /** false when the plan rates neither the feature nor "*" (units 0, listed as unrated). */
  rated: boolean;
  /** Draws this piece charges (draws.ts): 0 for license-time, else windows opened or licenses checked out. */
  draws: number;
}

/** What rating the next interval of a session needs to know about the ones before it. */
export interface SessionCursor {
  session: string;
  first_start: number;
  /** Rounding of the plan version in force at the session's first interval. */
  rounding: Rounding;
  /** Session duration so far (sum of its intervals' lengths), ms. */
  cum_ms: number;
  last_end: number;
}

/** The period whose statement carries usage of period `p` received at `receivedAt`. */
export function arrivalOf(terms: PricingTerms, p: Period, receivedAt: number): number {
  return receivedAt < periodCloseAt(terms.contract, p) ? p.index : periodIndexAt(terms.contract, receivedAt);
}

/** billed(c) = c < grace ? 0 : max(minimum, ceil(c / increment) × increment); nothing used bills nothing. */
export function billedMs(c: number, r: Rounding): number {
  if (c <= 0 || c < r.grace_ms) return 0;
  const rest = c % r.increment_ms;
  return Math.max(r.minimum_ms, rest === 0 ? c : c - rest + r.increment_ms);
}

function check(terms: PricingTerms, i: UsageInterval): void {
  const ok = Number.isSafeInteger(i.start) && Number.isSafeInteger(i.end) && i.end > i.start &&
    Number.isSafeInteger(i.count) && i.count >= 1 && Number.isSafeInteger(i.received_at) &&
    typeof i.feature === "string" && typeof i.session === "string" && typeof i.ref === "string";
  if (!ok) throw new PricingError("invalid_input", `interval ${i.ref}: needs integer start < end, count ≥ 1, received_at`);
  if (i.start < contractStart(terms)) throw new PricingError("before_contract_start", `interval ${i.ref} starts before the contract`);
}

const starts = new WeakMap<PricingTerms, number>();
function contractStart(terms: PricingTerms): number {
  let start = starts.get(terms);
  if (start === undefined) { start = periodByIndex(terms.contract, 0).start; starts.set(terms, start); }
  return start;
}

/** Periods already computed, in order (periodAt needs the time zone's rules; draws jump between periods). */
const knownPeriods = new WeakMap<PricingTerms, Period[]>();

export function periodOf(terms: PricingTerms, ts: number): Period {
  let known = knownPeriods.get(terms);
  if (!known) { known = []; knownPeriods.set(terms, known); }
  let lo = 0, hi = known.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (known[mid]!.end <= ts) lo = mid + 1; else hi = mid; }
  const hit = known[lo];
  if (hit && hit.start <= ts) return hit;
  const q = periodAt(terms.contract, ts);
  // Bounded: a contract's periods over its life (a few hundred at most).
  if (known.length < 10_000) known.splice(lo, 0, q);
  return q;
}

/** First index in sorted `xs` with xs[i] > t. */
function firstAfter(xs: number[], t: number): number {
  let lo = 0, hi = xs.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (xs[mid]! > t) hi = mid; else lo = mid + 1; }
  return lo;
}

/**
 * Rate one interval after `cursor` (undefined: the session's first interval). Returns undefined
 * when the interval starts before the session's last known end: the caller then re-rates the
 * whole session with rateSession (out-of-order arrival shifts rounding between intervals).
 */
export function rateNextInterval(terms: PricingTerms, cursor: SessionCursor | undefined, interval: UsageInterval):
  { pieces: RatedPiece[]; cursor: SessionCursor } | undefined {
  check(terms, interval);
  if (cursor && interval.start < cursor.last_end) return undefined;
  const c: SessionCursor = cursor ?? {
    session: interval.session, first_start: interval.start,
    rounding: versionAt(terms, interval.start).terms.rounding, cum_ms: 0, last_end: interval.start,
  };
  return ratePieces(terms, c, interval);
}

function ratePieces(terms: PricingTerms, c: SessionCursor, iv: UsageInterval): { pieces: RatedPiece[]; cursor: SessionCursor } {
  const pieces: RatedPiece[] = [];
  const bounds = terms.boundaries;
  let bi = firstAfter(bounds, iv.start);
  let a = iv.start;
  let cumA = c.cum_ms;
  let billedA = billedMs(cumA, c.rounding);
  const count = BigInt(iv.count);
  while (a < iv.end) {
    const p = periodOf(terms, a);
    const nextBoundary = bi < bounds.length ? bounds[bi]! : Infinity;
    const b = Math.min(iv.end, p.end, nextBoundary);
    const prevBoundary = bi > 0 ? bounds[bi - 1]! : -Infinity;
    const cumB = cumA + (b - a);
    const billedB = billedMs(cumB, c.rounding);
    const delta = billedB - billedA;
    const rate = rateOf(versionAt(terms, a).terms, iv.feature);
    pieces.push({
      ref: iv.ref, feature: iv.feature, session: iv.session,
      period: p.index,
      arrival: arrivalOf(terms, p, iv.received_at),
      segment: Math.max(p.start, prevBoundary),
      start: a, end: b,
      license_ms: (b - a) * iv.count,
      billed_ms: delta * iv.count,
      // A draw rate charges at the session's start (draws.ts), not by the hour.
      units: rate?.per === "hour" ? BigInt(delta) * count * rate.rate : 0n,
      rated: rate !== undefined,
      draws: 0,
    });
    if (b === nextBoundary) bi++;
    a = b; cumA = cumB; billedA = billedB;
  }
  return { pieces, cursor: { ...c, cum_ms: cumA, last_end: Math.max(c.last_end, iv.end) } };
}

/**
 * Record order for equal start times: refs are `<source>:<seq>`; the source compares as text and
 * the seq as a number (so `c:9` comes before `c:10`), whatever the source's own spelling.
 */
export function compareRefs(a: string, b: string): number {
  const i = a.lastIndexOf(":"), j = b.lastIndexOf(":");
  const pa = a.slice(0, i), pb = b.slice(0, j);
  if (pa !== pb) return pa < pb ? -1 : 1;
  const sa = a.slice(i + 1), sb = b.slice(j + 1);
  if (/^\d+$/.test(sa) && /^\d+$/.test(sb) && sa !== sb) return sa.length - sb.length || (sa < sb ? -1 : 1);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** Rate all intervals of one session (sorted by start, then ref), order of the input irrelevant. */
export function rateSession(terms: PricingTerms, intervals: UsageInterval[]): { pieces: RatedPiece[]; cursor: SessionCursor | undefined } {
  const sorted = [...intervals].sort((x, y) => x.start - y.start || compareRefs(x.ref, y.ref));
  let cursor: SessionCursor | undefined;
  const pieces: RatedPiece[] = [];
  for (const iv of sorted) {
    check(terms, iv);
    cursor ??= { session: iv.session, first_start: iv.start, rounding: versionAt(terms, iv.start).terms.rounding, cum_ms: 0, last_end: iv.start };
    const r = ratePieces(terms, cursor, iv);
    pieces.push(...r.pieces);
    cursor = r.cursor;
  }
  return { pieces, cursor };
}

/** The interval a session starts with: the earliest, then by record. */
export function firstInterval<T extends UsageInterval>(intervals: T[]): T | undefined {
  let first: T | undefined;
  for (const iv of intervals) if (!first || iv.start < first.start || (iv.start === first.start && compareRefs(iv.ref, first.ref) < 0)) first = iv;
  return first;
}
