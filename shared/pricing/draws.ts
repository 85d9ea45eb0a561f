// Draws (DESIGN §5 "Feature → units"): tokens sold per use rather than per hour. A session whose
// feature is rated by a draw object at its start makes one *use* — at that start, by its first
// record. `checkout` charges `units × count` for every use (credits per job). `use_window` groups
// uses by key (user, feature, host, site as the rate says): a use that no open window of its key
// covers opens a window [start, start + window_s) and charges `units` once (Autodesk Flex: 24 h of
// a product per user). A draw counts at its start — in that instant's period, segment, plan
// version and arrival — and is a piece like any other (no license time), so grants, tiers and
// statements take it as they take license-hours. Windows depend only on the set of session starts,
// so interval cuts, resends, batching and arrival order never change them.
import type { UsageInterval } from "./input.ts";
import { rateOf, type RateTerms } from "./plan-terms.ts";
import { arrivalOf, compareRefs, firstInterval, periodOf, type RatedPiece } from "./rate.ts";
import { versionAt, type PricingTerms } from "./terms.ts";

/** A session's use: what opens (or is covered by) a window of `key`. */
export interface Use {
  session: string;
  /** Windows are counted per key; a checkout's key is its own session's, so it always draws. */
  key: string;
  start: number;
  /** The record at the session's start: the draw traces to it. */
  ref: string;
  feature: string;
  count: number;
  received_at: number;
}

/** A draw: its piece (units, draws, where it counts) and when its window ends (a checkout covers nothing). */
export interface Draw { key: string; until: number; piece: RatedPiece }

/** Order of uses and draws within a key: start, then record. */
export function usePosition(a: { start: number; ref: string }, b: { start: number; ref: string }): number {
  return a.start - b.start || compareRefs(a.ref, b.ref);
}

type DrawRate = Exclude<RateTerms, { per: "hour" }>;

function drawRateAt(terms: PricingTerms, feature: string, ts: number): DrawRate | undefined {
  const rate = rateOf(versionAt(terms, ts).terms, feature);
  return rate && rate.per !== "hour" ? rate : undefined;
}

/** A checkout's use-window key: its session's own, so every checkout is a draw of its own. */
export function checkoutKey(session: string): string {
  return `checkout\u0000${session}`;
}

/** The use a session makes from the interval it starts with, or undefined when it is rated by the hour. */
export function useOf(terms: PricingTerms, first: UsageInterval): Use | undefined {
  const rate = drawRateAt(terms, first.feature, first.start);
  if (!rate) return undefined;
  const key = rate.per === "checkout" ? checkoutKey(first.session)
    : `window\u0000${rate.key.join(",")}\u0000${rate.key.map((f) => (f === "feature" ? first.feature : first[f] ?? "")).join("\u0000")}`;
  return { session: first.session, key, start: first.start, ref: first.ref, feature: first.feature, count: first.count, received_at: first.received_at };
}

/** The draw a use opens under `terms`; undefined when its feature is no longer rated by a draw there. */
export function drawOf(terms: PricingTerms, use: Use): Draw | undefined {
  const rate = drawRateAt(terms, use.feature, use.start);
  if (!rate) return undefined;
  const p = periodOf(terms, use.start);
  const checkout = rate.per === "checkout";
  // The segment containing the start: the last boundary at or before it, within its period.
  const bounds = terms.boundaries;
  let lo = 0, hi = bounds.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (bounds[mid]! <= use.start) lo = mid + 1; else hi = mid; }
  const segment = lo > 0 ? Math.max(p.start, bounds[lo - 1]!) : p.start;
  const until = checkout ? use.start : use.start + rate.window_ms;
  return {
    key: use.key, until,
    piece: {
      ref: use.ref, feature: use.feature, session: use.session, period: p.index, arrival: arrivalOf(terms, p, use.received_at),
      segment, start: use.start, end: until, license_ms: 0, billed_ms: 0,
      units: checkout ? rate.units * BigInt(use.count) : rate.units, rated: true, draws: checkout ? use.count : 1,
    },
  };
}

/** Whether two draws charge the same thing at the same place (a re-windowing can stop there). */
export function sameDraw(a: Draw, b: Draw): boolean {
  const p = a.piece, q = b.piece;
  return a.until === b.until && p.ref === q.ref && p.start === q.start && p.units === q.units && p.draws === q.draws &&
    p.period === q.period && p.arrival === q.arrival && p.segment === q.segment && p.feature === q.feature && p.session === q.session;
}

/** Every session's draw, windows opened greedily per key (the pure form; live/use-windows.ts is incremental). */
export function drawPieces(terms: PricingTerms, intervals: UsageInterval[]): RatedPiece[] {
  const bySession = new Map<string, UsageInterval[]>();
  for (const iv of intervals) {
    const list = bySession.get(iv.session);
    if (list) list.push(iv); else bySession.set(iv.session, [iv]);
  }
  return sessionDraws(terms, bySession.values());
}

/** The draws of sessions given as their interval lists. */
export function sessionDraws(terms: PricingTerms, sessions: Iterable<UsageInterval[]>): RatedPiece[] {
  const byKey = new Map<string, Use[]>();
  for (const list of sessions) {
    const use = useOf(terms, firstInterval(list)!);
    if (!use) continue;
    const uses = byKey.get(use.key);
    if (uses) uses.push(use); else byKey.set(use.key, [use]);
  }
  const pieces: RatedPiece[] = [];
  for (const uses of byKey.values()) {
    let cover = -Infinity;
    for (const use of uses.length > 1 ? uses.sort(usePosition) : uses) {
      if (use.start < cover) continue;
      const draw = drawOf(terms, use);
      if (!draw) continue;
      pieces.push(draw.piece);
      cover = draw.until;
    }
  }
  return pieces;
}
