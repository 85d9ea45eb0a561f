// The rated units of a collector's usage intervals, as the D1 projection reads them (outbox.ts,
// reconcile.ts). This is the one place that knows where the ledger keeps them (the live ledger's
// tables, billing-schema.ts): an outbox row of topic `units` (collector_id, from_seq, to_seq) says
// these figures changed for that range (units-outbox.ts), and the drain asks for them here, a
// bounded range at a time.
//
// Always the DO's current figures: draining the same range twice, or a re-rating drained after an
// older figure, converges on the current one.

/** Units numerator (over shared/pricing's UNIT_DEN) per seq of the collector's rateable usage
 * intervals in [fromSeq, toSeq]; a rateable interval rated 0 is present with 0n. Reads the
 * range through the (source_no, seq) keys of `usage_intervals`, `rated_pieces` and `draws`. */
export function intervalUnits(sql: SqlStorage, collectorId: string, fromSeq: number, toSeq: number): Map<number, bigint> {
  const units = new Map<number, bigint>();
  const rows = sql.exec<{ seq: number; units: string | null }>(
    `SELECT i.seq, p.units FROM rating_sources c JOIN usage_intervals i ON i.source_no = c.no
       LEFT JOIN rated_pieces p ON p.source_no = i.source_no AND p.seq = i.seq
     WHERE c.collector_id = ? AND i.seq BETWEEN ? AND ?`, collectorId, fromSeq, toSeq);
  for (const r of rows) units.set(r.seq, (units.get(r.seq) ?? 0n) + (r.units === null ? 0n : BigInt(r.units)));
  // A draw's units belong to the record that opened it (draws-schema.ts).
  for (const d of sql.exec<{ seq: number; units: string }>(
    "SELECT d.seq, d.units FROM rating_sources c JOIN draws d ON d.source_no = c.no WHERE c.collector_id = ? AND d.seq BETWEEN ? AND ?", collectorId, fromSeq, toSeq)) {
    if (units.has(d.seq)) units.set(d.seq, units.get(d.seq)! + BigInt(d.units));
  }
  return units;
}

/** Draws opened by each of the collector's records in [fromSeq, toSeq] (records that opened none are absent). */
export function intervalDraws(sql: SqlStorage, collectorId: string, fromSeq: number, toSeq: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const d of sql.exec<{ seq: number; draws: number }>(
    "SELECT d.seq, d.draws FROM rating_sources c JOIN draws d ON d.source_no = c.no WHERE c.collector_id = ? AND d.seq BETWEEN ? AND ?", collectorId, fromSeq, toSeq)) {
    out.set(d.seq, (out.get(d.seq) ?? 0) + d.draws);
  }
  return out;
}
