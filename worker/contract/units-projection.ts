// The rated units of a collector's usage intervals, projected to D1 `interval_units` for
// `GET …/usage`. Always the DO's current figures, upserted (ON CONFLICT DO UPDATE): draining the
// same range twice, or a re-rating drained after an older figure, converges on the current one.
import { sql as dsql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/database.ts";
import { intervalUnits } from "../db/schema.ts";

const ROWS_PER_STATEMENT = 20; // 5 columns: ≤ 100 bound parameters per statement

export function unitUpserts(db: Database, sql: SqlStorage, contractId: string, collectorId: string, fromSeq: number, toSeq: number): BatchItem<"sqlite">[] {
  const units = new Map<number, { session: string; units: bigint }>();
  const rows = sql.exec<{ seq: number; session: string; units: string | null }>(
    `SELECT i.seq, i.session, p.units FROM usage_intervals i LEFT JOIN rated_pieces p ON p.ref = i.ref
     WHERE i.collector_id = ? AND i.seq BETWEEN ? AND ? ORDER BY i.seq`, collectorId, fromSeq, toSeq);
  for (const r of rows) {
    const u = units.get(r.seq) ?? { session: r.session, units: 0n };
    if (r.units !== null) u.units += BigInt(r.units);
    units.set(r.seq, u);
  }
  const values = [...units].map(([seq, u]) => ({ collector_id: collectorId, seq, contract_id: contractId, session: u.session, units_num: u.units.toString() }));
  const statements: BatchItem<"sqlite">[] = [];
  for (let i = 0; i < values.length; i += ROWS_PER_STATEMENT) {
    statements.push(db.insert(intervalUnits).values(values.slice(i, i + ROWS_PER_STATEMENT))
      .onConflictDoUpdate({ target: [intervalUnits.collector_id, intervalUnits.seq], set: { units_num: dsql`excluded.units_num` } }));
  }
  return statements;
}
