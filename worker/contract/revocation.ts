// Revoking a collector (DESIGN.md §4, §7): its chain is frozen at the hwm of the moment. Records
// above it are refused with `revoked` (verifyBatch checks `revoked_at_seq`); everything receipted
// before stays, and a replay of old batches still answers its receipt. Idempotent: a second
// revocation keeps the first one's seq and time.
import { addFlag, ensureChain, loadChain, type CollectorIdentity } from "./chains.ts";

export const REVOKED_FLAG = "revoked";

export interface Revocation { collector_id: string; revoked_at_seq: number; revoked_at: number }

export function revokeCollector(sql: SqlStorage, who: CollectorIdentity, now: number): Revocation {
  ensureChain(sql, who);
  const chain = loadChain(sql, who.collector_id)!;
  if (chain.revoked_at_seq === null) {
    sql.exec("UPDATE chains SET revoked_at_seq = hwm, revoked_at = ? WHERE collector_id = ?", now, who.collector_id);
    addFlag(sql, chain, REVOKED_FLAG);
    sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector', ?)", who.collector_id);
  }
  const row = sql.exec<{ revoked_at_seq: number; revoked_at: number }>(
    "SELECT revoked_at_seq, revoked_at FROM chains WHERE collector_id = ?", who.collector_id).one();
  return { collector_id: who.collector_id, revoked_at_seq: row.revoked_at_seq, revoked_at: row.revoked_at };
}

/** True once the collector is revoked: it may no longer pull or edit the contract doc either. */
export function isRevoked(sql: SqlStorage, collectorId: string): boolean {
  return (loadChain(sql, collectorId)?.revoked_at_seq ?? null) !== null;
}
