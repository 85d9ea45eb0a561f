// A site moved here from another edge with its history (docs/self-hosting.md "Moving between
// edges"): the vendor registers it with the seq its history runs to (`import_to_seq`), then
// replays that history as the other edge's batches with the times that edge received them.
// While any site's import is pending no period is frozen, so a closed period's statement is
// computed once every batch that arrived in it is here — and equals the source's. Arrival times
// are the vendor's word (like a grant): accepted only for a site whose import is pending, never in
// the future, never before the chain's last arrival.

export interface ImportState { hwm: number; import_to_seq: number | null; acked_at: number | null }

/** Sets (or, at or below the hwm, clears) the seq a registered site's history runs to. */
export function expectHistory(sql: SqlStorage, collectorId: string, toSeq: number): ImportState {
  return sql.exec<ImportState & Record<string, SqlStorageValue>>(
    "UPDATE chains SET import_to_seq = CASE WHEN ? > hwm THEN ? ELSE NULL END WHERE collector_id = ? RETURNING hwm, import_to_seq, acked_at",
    toSeq, toSeq, collectorId,
  ).one();
}

/** After a batch: the import is done once the chain reaches the seq it was registered with. */
export function historyArrived(sql: SqlStorage, collectorId: string, hwm: number): void {
  sql.exec("UPDATE chains SET import_to_seq = NULL WHERE collector_id = ? AND import_to_seq <= ?", collectorId, hwm);
}

export function importPending(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM chains WHERE import_to_seq IS NOT NULL LIMIT 1").toArray().length > 0;
}

/** Why these arrival times cannot be used for the site's next batches, or null. */
export function arrivalRefusal(sql: SqlStorage, collectorId: string, arrivals: readonly number[], now: number): string | null {
  const chain = sql.exec<ImportState & Record<string, SqlStorageValue>>("SELECT hwm, import_to_seq, acked_at FROM chains WHERE collector_id = ?", collectorId).toArray()[0];
  if (!chain || chain.import_to_seq === null) return `${collectorId} has no import pending: register it with history_to_seq above its acked seq (${chain?.hwm ?? 0}) first`;
  let last = chain.acked_at ?? 0;
  for (const [i, at] of arrivals.entries()) {
    if (at > now) return `received_at[${i}] is in the future`;
    if (at < last) return `received_at[${i}] is before the site's previous arrival`;
    last = at;
  }
  return null;
}
