// Rating usage that was stored before this DO rated anything: a contract created by a Tally
// without pricing (storage steps 1–2) kept its usage records, but the pricing step created the
// ledger empty, so that usage never reached the balance. The storage step below finds, per
// collector, the seqs before its first rated interval that hold rateable usage, and queues them;
// the alarm then feeds them to the live ledger in bounded seq ranges (`nextStoredUsage`), each
// with the `received_at` it was stored with, so arrival periods (and late adjustments) are those
// the records would have had if rated on arrival. New batches keep being rated meanwhile (an
// earlier interval of a session they share re-rates that session). Until the queue is empty,
// balance and statements carry `rerating` and no period is frozen (as for a re-rating job).
import type { UsageInterval } from "../../shared/pricing/index.ts";
import type { UsageData } from "../../shared/protocol/index.ts";

/** Seqs of one collector read per chunk (usage or not): bounded work whatever the history. */
export const STORED_USAGE_SEQS = 2000;

/**
 * Storage step (after the live ledger's tables exist): one row per collector with rateable usage
 * stored before its first rated interval. `next_seq` advances as chunks are rated; `from_seq` and
 * `to_seq` stay, for progress. The EXISTS reads each collector's unrated prefix only.
 */
export const STORED_USAGE_STEP = `
  CREATE TABLE stored_usage_queue (collector_id TEXT PRIMARY KEY, from_seq INTEGER NOT NULL, next_seq INTEGER NOT NULL, to_seq INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO stored_usage_queue (collector_id, from_seq, next_seq, to_seq)
    SELECT collector_id, 1, 1, to_seq FROM (
      SELECT c.collector_id, coalesce(
        (SELECT min(i.seq) FROM rating_sources s JOIN usage_intervals i ON i.source_no = s.no WHERE s.collector_id = c.collector_id),
        c.hwm + 1) - 1 AS to_seq
      FROM chains c) q
    WHERE to_seq >= 1 AND EXISTS (
      SELECT 1 FROM records r WHERE r.collector_id = q.collector_id AND r.seq <= q.to_seq AND r.kind = 'usage' AND r.quarantine IS NULL);`;

export interface StoredUsageProgress { done: number; total: number }

/** Seqs visited of those queued; undefined when nothing is queued. */
export function storedUsageProgress(sql: SqlStorage): StoredUsageProgress | undefined {
  const r = sql.exec<{ n: number; done: number | null; total: number | null }>(
    "SELECT count(*) AS n, sum(next_seq - from_seq) AS done, sum(to_seq - from_seq + 1) AS total FROM stored_usage_queue").one();
  return r.n === 0 ? undefined : { done: r.done ?? 0, total: r.total ?? 0 };
}

/**
 * The next chunk of queued usage as intervals (one collector, at most STORED_USAGE_SEQS seqs), and
 * advances the queue past it. `rated(collectorId, from, to)` lists seqs already in the ledger
 * (skipped: a chunk redone after a failed transaction never rates a record twice). Undefined when
 * the queue is empty. Runs inside the caller's transaction.
 */
export function nextStoredUsage(sql: SqlStorage, rated: (collectorId: string, from: number, to: number) => Set<number>): UsageInterval[] | undefined {
  const row = sql.exec<{ collector_id: string; next_seq: number; to_seq: number }>(
    "SELECT collector_id, next_seq, to_seq FROM stored_usage_queue ORDER BY collector_id LIMIT 1").toArray()[0];
  if (!row) return undefined;
  const to = Math.min(row.to_seq, row.next_seq + STORED_USAGE_SEQS - 1);
  const done = rated(row.collector_id, row.next_seq, to);
  const intervals: UsageInterval[] = [];
  for (const r of sql.exec<{ seq: number; record_json: string; received_at: number }>(
    `SELECT seq, record_json, received_at FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ?
       AND kind = 'usage' AND quarantine IS NULL ORDER BY seq`, row.collector_id, row.next_seq, to)) {
    if (done.has(r.seq)) continue;
    const d = (JSON.parse(r.record_json) as { data: UsageData }).data;
    intervals.push({
      ref: `${row.collector_id}:${r.seq}`, session: `${row.collector_id}:${d.session}`, feature: d.feature,
      start: d.start, end: d.end, count: d.count, received_at: r.received_at, user: d.user, host: d.host, site: row.collector_id,
    });
  }
  if (to >= row.to_seq) sql.exec("DELETE FROM stored_usage_queue WHERE collector_id = ?", row.collector_id);
  else sql.exec("UPDATE stored_usage_queue SET next_seq = ? WHERE collector_id = ?", to + 1, row.collector_id);
  return intervals;
}
