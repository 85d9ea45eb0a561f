// The rated units of a collector's usage intervals, projected to D1 `interval_units` for
// `GET …/usage`. Always the DO's current figures, upserted (ON CONFLICT DO UPDATE): draining the
// same range twice, or a re-rating drained after an older figure, converges on the current one.
import { sql as dsql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db/database.ts";
import { intervalUnits as intervalUnitsTable } from "../db/schema.ts";
import { intervalUnits } from "./sql-live-store.ts";

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
