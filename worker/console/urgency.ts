// Which contracts need the vendor first: the console's list is sorted by status
// (blocked > exhausted > low > stale > ok), then by the share of granted units left, lowest first
// (compared exactly, as cross-multiplied bigints), contracts without a grant last within a status.
import { parseScaled } from "../../shared/decimal/decimal.ts";

export type BalanceStatus = "ok" | "low" | "exhausted" | "blocked";

export interface ContractGlance {
  /** From the balance; null while the edge does not price yet. */
  status: BalanceStatus | null;
  stale: boolean;
  remaining_units: string | null;
  granted_units: string | null;
}

const RANK: Record<string, number> = { blocked: 0, exhausted: 1, low: 2, stale: 3, ok: 4 };
const SCALE = 12;

/** The one word the list shows: the balance status, except that a stale `ok` shows `stale`. */
export function glanceStatus(g: ContractGlance): BalanceStatus | "stale" {
  const status = g.status ?? "ok";
  return status === "ok" && g.stale ? "stale" : status;
}

/** remaining / granted as an exact fraction, or undefined without a (non-zero) grant. */
function share(g: ContractGlance): [bigint, bigint] | undefined {
  if (g.remaining_units === null || g.granted_units === null) return undefined;
  const granted = parseScaled(g.granted_units, SCALE);
  return granted > 0n ? [parseScaled(g.remaining_units, SCALE), granted] : undefined;
}

export function byUrgency(a: ContractGlance, b: ContractGlance): number {
  const rank = RANK[glanceStatus(a)]! - RANK[glanceStatus(b)]!;
  if (rank !== 0) return rank;
  const [sa, sb] = [share(a), share(b)];
  if (!sa || !sb) return sa ? -1 : sb ? 1 : 0;
  const left = sa[0] * sb[1];
  const right = sb[0] * sa[1];
  return left < right ? -1 : left > right ? 1 : 0;
}
