// What a change of terms reaches (DESIGN §6 "Cost at scale"): the span of usage whose rating it
// changes (re-rated by a job, in chunks) and the first instant whose burn it changes (folded again
// at once: only open periods, since neither grants nor plan versions reach a closed one).
import { periodAt } from "../periods.ts";
import { canBurn, segmentEndAfter, type PricingTerms } from "../terms.ts";

export interface TermsChange { rerate: { from: number; to: number | null } | null; foldFrom: number }

/** A plan version from `effectiveAt`: rates, rounding and segments change from there on. */
export function planVersionChange(effectiveAt: number): TermsChange {
  return { rerate: { from: effectiveAt, to: null }, foldFrom: effectiveAt };
}

/** A new grant (under `terms`, which include it): its active start and expiry cut segments. */
export function grantChange(terms: PricingTerms, grantId: string): TermsChange {
  const g = terms.grants.find((x) => x.id === grantId)!;
  // Never active (canBurn): it moves no segment and no burn.
  if (!canBurn(g)) return { rerate: null, foldFrom: g.active_from };
  const cuts = [g.active_from, g.expires_at].filter((b): b is number => b !== null && periodAt(terms.contract, b).start !== b);
  const rerate = cuts.length === 0 ? null : { from: Math.min(...cuts), to: Math.max(...cuts.map((b) => segmentEndAfter(terms, b))) };
  return { rerate, foldFrom: Math.min(g.active_from, ...(g.expires_at === null ? [] : [g.expires_at])) };
}
