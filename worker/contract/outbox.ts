// Drains the DO's outbox into the D1 projection. Every write is an idempotent upsert keyed by a
// natural key ((collector_id, seq) for records, the collector id for sync state), so a drain
// that fails halfway or runs twice converges; an outbox row is deleted only after D1 accepted
// all of its writes. D1 has no interactive transactions: each `batch()` is one.
import { and, between, eq, sql as dsql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { database, type Database } from "../db/database.ts";
import { collectors, intervalUnits, records } from "../db/schema.ts";
import type { ChainRow } from "./chains.ts";
import { unitUpserts } from "./units-projection.ts";

interface OutboxRow { id: number; topic: string; collector_id: string; from_seq: number | null; to_seq: number | null }
export interface StoredRecord { collector_id: string; seq: number; hash: string; kind: string; record_json: string; received_at: number; quarantine: string | null }

/** D1 allows 100 bound parameters per statement. */
const MAX_PARAMS = 100;
const RECORD_COLUMNS = 15;
const ROWS_PER_STATEMENT = Math.floor(MAX_PARAMS / RECORD_COLUMNS);
const STATEMENTS_PER_BATCH = 50;
/** Outbox rows per alarm run; a records row spans at most one batch (≤ 5,000 records). */
const OUTBOX_ROWS_PER_DRAIN = 8;

/** Drains up to a few outbox rows; returns how many rows remain. Throws when D1 fails (rows kept). */
export async function drainOutbox(sql: SqlStorage, d1: D1Database, contractId: string): Promise<number> {
  const db = database(d1);
  const rows = sql.exec<OutboxRow & Record<string, SqlStorageValue>>("SELECT * FROM outbox ORDER BY id LIMIT ?", OUTBOX_ROWS_PER_DRAIN).toArray();
  for (const row of rows) {
    const statements = row.topic === "records" ? [...recordUpserts(db, sql, contractId, row), ...unitUpserts(db, sql, contractId, row.collector_id, row.from_seq ?? 0, row.to_seq ?? 0)]
      : row.topic === "units" ? unitUpserts(db, sql, contractId, row.collector_id, row.from_seq ?? 0, row.to_seq ?? 0)
      : row.topic === "supersede" ? supersededDeletes(db, row)
      : collectorUpdates(db, sql, row.collector_id, row.topic === "collector_exact");
    for (let i = 0; i < statements.length; i += STATEMENTS_PER_BATCH) {
      const chunk = statements.slice(i, i + STATEMENTS_PER_BATCH) as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]];
      await db.batch(chunk);
    }
    sql.exec("DELETE FROM outbox WHERE id = ?", row.id);
  }
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
}

function recordUpserts(db: Database, sql: SqlStorage, contractId: string, row: OutboxRow): BatchItem<"sqlite">[] {
  const stored = sql.exec<StoredRecord & Record<string, SqlStorageValue>>(
    "SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
    row.collector_id, row.from_seq, row.to_seq,
  ).toArray();
  const values = stored.map((r) => projectRecord(contractId, r));
  const statements: BatchItem<"sqlite">[] = [];
  for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
    statements.push(db.insert(records).values(values.slice(i, i + ROWS_PER_STATEMENT)).onConflictDoNothing());
  }
  return statements;
}

/** A resolved fork: the old branch leaves the projection (the DO keeps it as evidence). Ordered
 * before the new branch's `records` rows, which then insert at the same seqs. Its interval units
 * go too (the DO dropped those intervals; the new branch's `records` row upserts its own). The
 * reconciler (reconcile.ts) queues the same pair to rewrite a damaged range. */
function supersededDeletes(db: Database, row: OutboxRow): BatchItem<"sqlite">[] {
  const from = row.from_seq ?? 0, to = row.to_seq ?? 0;
  return [
    db.delete(records).where(and(eq(records.collector_id, row.collector_id), between(records.seq, from, to))),
    db.delete(intervalUnits).where(and(eq(intervalUnits.collector_id, row.collector_id), between(intervalUnits.seq, from, to))),
  ];
}

/** `exact` (topic `collector_exact`, queued by the reconciler): the DO's current values as they
 * are, even lower than D1's (a damaged row, or an hwm a fork resolution lowered). */
function collectorUpdates(db: Database, sql: SqlStorage, collectorId: string, exact = false): BatchItem<"sqlite">[] {
  const chain = sql.exec<ChainRow & Record<string, SqlStorageValue>>("SELECT * FROM chains WHERE collector_id = ?", collectorId).toArray()[0];
  if (!chain) return [];
  if (exact) return [db.update(collectors).set({ hwm: chain.hwm, last_sync: chain.last_sync, flags_json: chain.flags_json }).where(eq(collectors.id, collectorId))];
  // max(): an older snapshot drained late never moves the projection backwards.
  return [db.update(collectors).set({
    hwm: dsql`max(${collectors.hwm}, ${chain.hwm})`,
    last_sync: chain.last_sync === null ? dsql`${collectors.last_sync}` : dsql`max(coalesce(${collectors.last_sync}, 0), ${chain.last_sync})`,
    flags_json: chain.flags_json,
  }).where(eq(collectors.id, collectorId))];
}

/** A DO record as a D1 row; usage fields are pulled out so `GET …/usage` can group by them. */
export function projectRecord(contractId: string, r: StoredRecord): typeof records.$inferInsert {
  const parsed = JSON.parse(r.record_json) as { ts: number; data: Record<string, unknown> };
  const d = parsed.data;
  const usage = r.kind === "usage";
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  const int = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    collector_id: r.collector_id, seq: r.seq, contract_id: contractId, hash: r.hash, kind: r.kind,
    ts: parsed.ts, received_at: r.received_at, quarantine: r.quarantine,
    feature: text(d.feature), user: text(d.user), host: text(d.host),
    start: usage ? int(d.start) : null, end: usage ? int(d.end) : null, count: usage ? int(d.count) : null,
    record_json: r.record_json,
  };
}
