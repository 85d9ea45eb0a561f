// Per-collector chain state in the DO: what verifyBatch needs (hwm, head, key history,
// revocation) plus what the vendor sees (site, flags, last sync).
import { ZERO_HASH, type ChainState } from "../../shared/protocol/index.ts";

/** Who a collector is, as the directory (D1) knows it since enrollment. */
export interface CollectorIdentity { collector_id: string; public_key: string; site: string; enrolled_at: number }

export interface ChainRow {
  collector_id: string; site: string; hwm: number; head: string; keys_json: string;
  revoked_at_seq: number | null; revoked_at: number | null; flags_json: string; enrolled_at: number;
  last_sync: number | null; acked_at: number | null;
}

/** Creates the chain on first sight of a collector; a known collector is left as it is. */
export function ensureChain(sql: SqlStorage, who: CollectorIdentity): void {
  sql.exec(
    `INSERT INTO chains (collector_id, site, hwm, head, keys_json, enrolled_at) VALUES (?, ?, 0, ?, ?, ?)
     ON CONFLICT (collector_id) DO NOTHING`,
    who.collector_id, who.site, ZERO_HASH, JSON.stringify([{ from_seq: 1, public_key: who.public_key }]), who.enrolled_at,
  );
}

export function loadChain(sql: SqlStorage, collectorId: string): ChainRow | undefined {
  return sql.exec<ChainRow & Record<string, SqlStorageValue>>("SELECT * FROM chains WHERE collector_id = ?", collectorId).toArray()[0];
}

export function listChains(sql: SqlStorage): ChainRow[] {
  return sql.exec<ChainRow & Record<string, SqlStorageValue>>("SELECT * FROM chains ORDER BY collector_id").toArray();
}

export function chainState(row: ChainRow): ChainState {
  return { collector_id: row.collector_id, hwm: row.hwm, head: row.head, keys: JSON.parse(row.keys_json), revoked_at_seq: row.revoked_at_seq };
}

export function storedHash(sql: SqlStorage, collectorId: string, seq: number): string | undefined {
  return sql.exec<{ hash: string }>("SELECT hash FROM records WHERE collector_id = ? AND seq = ?", collectorId, seq).toArray()[0]?.hash;
}

export function saveAdvance(sql: SqlStorage, state: ChainState, now: number): void {
  sql.exec(
    "UPDATE chains SET hwm = ?, head = ?, keys_json = ?, last_sync = ?, acked_at = ? WHERE collector_id = ?",
    state.hwm, state.head, JSON.stringify(state.keys), now, now, state.collector_id,
  );
}

export function addFlag(sql: SqlStorage, row: ChainRow, flag: string): void {
  const flags = JSON.parse(row.flags_json) as string[];
  if (flags.includes(flag)) return;
  sql.exec("UPDATE chains SET flags_json = ? WHERE collector_id = ?", JSON.stringify([...flags, flag]), row.collector_id);
}
