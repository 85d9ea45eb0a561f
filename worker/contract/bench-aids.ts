// What the benchmarks ask a ContractDO (development and test only; the DO refuses in production):
// the edge-ingest baseline's plain hash-and-insert loop, and the storage figures of contract-scale.
import type { CanonicalHash, ChainRecord } from "../../shared/protocol/index.ts";

export interface StorageFigures { database_bytes: number; rows: Record<string, number>; bytes: Record<string, number> }

/** Insert the rows with their hashes (hashCanonicalAll, computed before), nothing else (call inside a transaction). */
export function benchInsert(sql: SqlStorage, rows: ChainRecord[], hashes: readonly CanonicalHash[]): void {
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
