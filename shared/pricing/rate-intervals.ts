// Rating a whole set of intervals at once (the oracle's and the offline estimate's path): each
// session's license-time pieces, then every draw (windows and checkouts) over all sessions.
import { sessionDraws } from "./draws.ts";
import type { UsageInterval } from "./input.ts";
import { rateSession, type RatedPiece } from "./rate.ts";
import type { PricingTerms } from "./terms.ts";

/** Rate every interval, grouped by session, and add the draws their sessions' starts make. */
export function rateIntervals(terms: PricingTerms, intervals: UsageInterval[]): RatedPiece[] {
  const bySession = new Map<string, UsageInterval[]>();
  for (const iv of intervals) {
    const list = bySession.get(iv.session);
    if (list) list.push(iv); else bySession.set(iv.session, [iv]);
  }
  const pieces: RatedPiece[] = [];
  for (const list of bySession.values()) pieces.push(...rateSession(terms, list).pieces);
  if (terms.draws) pieces.push(...sessionDraws(terms, bySession.values()));
  return pieces;
}
