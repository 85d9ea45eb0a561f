// The rated units of a collector's usage intervals, as the D1 projection reads them (outbox.ts,
// reconcile.ts). This is the one place that knows where the ledger keeps them: an outbox row of
// topic `units` (collector_id, from_seq, to_seq) says these figures changed for that range, and the
// drain asks for them here, a bounded range at a time.
//
// Always the DO's current figures: draining the same range twice, or a re-rating drained after an
// older figure, converges on the current one.

/** Units numerator (over shared/pricing's UNIT_DEN) per seq of the collector's rateable usage
 * intervals in [fromSeq, toSeq]; a rateable interval rated 0 is present with 0n. */
export function intervalUnits(sql: SqlStorage, collectorId: string, fromSeq: number, toSeq: number): Map<number, bigint> {
  const units = new Map<number, bigint>();
  const rows = sql.exec<{ seq: number; units: string | null }>(
    `SELECT i.seq, p.units FROM usage_intervals i LEFT JOIN rated_pieces p ON p.ref = i.ref
     WHERE i.collector_id = ? AND i.seq BETWEEN ? AND ?`, collectorId, fromSeq, toSeq);
  for (const r of rows) units.set(r.seq, (units.get(r.seq) ?? 0n) + (r.units === null ? 0n : BigInt(r.units)));
  return units;
}
