// A source's running counts, kept in its read state so they survive restarts (the metrics'
// counters and `status` show them), and the licenses its sessions hold now.
import type { SessionTracker } from "../sessions/session-tracker.ts";
export interface SourceTotals {
  lines: number;
  unknown_lines: number;
  bytes: number;
  /** Records appended to the chain. */
  records: number;
  /** Usage and denials outside the contract's scope: kept at the site, never appended. */
  out_of_scope: number;
}

export function emptyTotals(): SourceTotals {
  return { lines: 0, unknown_lines: 0, bytes: 0, records: 0, out_of_scope: 0 };
}

/** Licenses held now, per feature (flexlm_exporter's licenses-in-use). */
export function licensesHeld(tracker: SessionTracker): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of tracker.openSessions()) out[s.feature] = (out[s.feature] ?? 0) + s.count;
  return out;
}
