// What the benchmarks ask a ContractDO (development and test only; refused in production): the
// edge-ingest baseline's plain hash-and-insert loop, the whole drain it times apart from the apply,
// and the storage figures of contract-scale.
import { hashCanonicalAll, type CanonicalHash, type ChainRecord } from "../../shared/protocol/index.ts";
import { allowsDevelopmentAids, type Env } from "../env.ts";
import { drainOutbox } from "./outbox.ts";

export interface StorageFigures { database_bytes: number; rows: Record<string, number>; bytes: Record<string, number> }

/** Throws unless the edge runs in development or test. */
export function refuseInProduction(env: Env, what: string): void {
  if (!allowsDevelopmentAids(env)) throw new Error(`${what} is only available in development and test`);
}

/** The edge-ingest baseline: the rows hashed as a batch is (native SHA-256 before the transaction), then inserted. */
export async function hashAndInsert(storage: DurableObjectStorage, rows: ChainRecord[]): Promise<number> {
  const hashes = await hashCanonicalAll(rows);
  storage.transactionSync(() => benchInsert(storage.sql, rows, hashes));
  return rows.length;
}

/** The whole outbox drained into D1 now, as the alarm would; answers the rows left. */
export async function drainAll(sql: SqlStorage, db: D1Database, contractId: string): Promise<number> {
  let remaining = await drainOutbox(sql, db, contractId);
  for (let runs = 1; remaining > 0 && runs < 1000; runs++) remaining = await drainOutbox(sql, db, contractId);
  return remaining;
}

/** Insert the rows with their hashes (hashCanonicalAll, computed before), nothing else (call inside a transaction). */
function benchInsert(sql: SqlStorage, rows: ChainRecord[], hashes: readonly CanonicalHash[]): void {
  for (const [i, r] of rows.entries()) {
    sql.exec("INSERT OR REPLACE INTO bench_records (collector_id, seq, hash, record_json) VALUES (?, ?, ?, ?)", r.collector_id, r.seq, hashes[i]!.hash, JSON.stringify(r));
  }
}

/** The database size and the outbox length; `full` adds each per-record table's rows and value bytes (a full scan). */
export function storageFigures(sql: SqlStorage, full: boolean): StorageFigures {
  const rows: Record<string, number> = { outbox: sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n };
  const bytes: Record<string, number> = {};
  if (full) {
    for (const t of ["records", "usage_intervals", "rated_pieces", "rating_sessions", "usage_buckets", "period_folds", "statement_lines", "line_ranges"]) {
      rows[t] = sql.exec<{ n: number }>(`SELECT count(*) AS n FROM ${t}`).one().n;
      // Values only: no row, page or index overhead.
      const columns = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${t}')`).toArray().map((c) => `coalesce(length(CAST("${c.name}" AS BLOB)), 0)`);
      bytes[t] = sql.exec<{ n: number | null }>(`SELECT sum(${columns.join(" + ")}) AS n FROM ${t}`).one().n ?? 0;
    }
  }
  return { database_bytes: sql.databaseSize, rows, bytes };
}
