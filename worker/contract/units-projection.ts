// The rated units of a collector's usage intervals, projected to D1 `interval_units` for
// `GET …/usage`. Always the DO's current figures, upserted (ON CONFLICT DO UPDATE): draining the
// same range twice, or a re-rating drained after an older figure, converges on the current one.
import { sql as dsql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/database.ts";
import { intervalUnits as intervalUnitsTable } from "../db/schema.ts";

const ROWS_PER_STATEMENT = 20; // 5 columns: ≤ 100 bound parameters per statement

export function unitUpserts(db: Database, sql: SqlStorage, contractId: string, collectorId: string, fromSeq: number, toSeq: number): BatchItem<"sqlite">[] {
  const units = intervalUnits(sql, collectorId, fromSeq, toSeq);
  const values = units.map((u) => ({ collector_id: collectorId, seq: u.seq, contract_id: contractId, session: u.session, units_num: u.units.toString() }));
  const statements: BatchItem<"sqlite">[] = [];
  for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
    statements.push(db.insert(intervalUnitsTable).values(values.slice(i, i + ROWS_PER_STATEMENT))
      .onConflictDoUpdate({ target: [intervalUnitsTable.collector_id, intervalUnitsTable.seq], set: { units_num: dsql`excluded.units_num` } }));
  }
  return statements;
}

/**
 * The current units numerator of each usage interval of a collector in [fromSeq, toSeq], with its
 * session key: what the D1 projection (`interval_units`) holds for those seqs. Bounded by the range.
 */
export function intervalUnits(sql: SqlStorage, collectorId: string, fromSeq: number, toSeq: number): Array<{ seq: number; session: string; units: bigint }> {
  const out: Array<{ seq: number; session: string; units: bigint }> = [];
  for (const r of sql.exec<{ seq: number; name: string; units: string | null }>(
    `SELECT i.seq, s.name, p.units FROM rating_sources c JOIN usage_intervals i ON i.source_no = c.no JOIN rating_sessions s ON s.id = i.session_id
     LEFT JOIN rated_pieces p ON p.source_no = i.source_no AND p.seq = i.seq WHERE c.collector_id = ? AND i.seq BETWEEN ? AND ? ORDER BY i.seq`,
    collectorId, fromSeq, toSeq)) {
    const last = out[out.length - 1];
    const units = r.units === null ? 0n : BigInt(r.units);
    if (last && last.seq === r.seq) last.units += units;
    else out.push({ seq: r.seq, session: `${collectorId}:${r.name}`, units });
  }
  // A draw's units belong to the record that opened it.
  const bySeq = new Map(out.map((r) => [r.seq, r]));
  for (const d of sql.exec<{ seq: number; units: string }>(
    "SELECT d.seq, d.units FROM rating_sources c JOIN draws d ON d.source_no = c.no WHERE c.collector_id = ? AND d.seq BETWEEN ? AND ?", collectorId, fromSeq, toSeq)) {
    const row = bySeq.get(d.seq);
    if (row) row.units += BigInt(d.units);
  }
  return out;
}
