// Queues the D1 re-projection of usage intervals whose rated units changed (a session re-rated
// after an out-of-order arrival, a re-rating job's chunk, a superseded fork branch): an outbox row
// of topic `units` for (collector_id, from_seq, to_seq) means "these intervals' units changed,
// re-project them" (units-projection.ts). Rows are bounded: close seqs share a row, but no row
// spans more than UNITS_ROW_SPAN seqs, so each drain step reads a bounded page.
export const UNITS_ROW_SPAN = 1000;
/** Seqs at most this far apart share a row (re-projecting an unchanged interval is harmless). */
const GAP = 64;

export function queueUnits(sql: SqlStorage, refs: Iterable<string>): void {
  const byCollector = new Map<string, number[]>();
  for (const ref of refs) {
    const at = ref.lastIndexOf(":");
    const collector = ref.slice(0, at);
    const seqs = byCollector.get(collector);
    if (seqs) seqs.push(Number(ref.slice(at + 1))); else byCollector.set(collector, [Number(ref.slice(at + 1))]);
  }
  for (const [collector, seqs] of byCollector) {
    seqs.sort((a, b) => a - b);
    let from = seqs[0]!, to = from;
    for (const seq of seqs.slice(1)) {
      if (seq - to <= GAP && seq - from < UNITS_ROW_SPAN) { to = seq; continue; }
      sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('units', ?, ?, ?)", collector, from, to);
      from = to = seq;
    }
    sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('units', ?, ?, ?)", collector, from, to);
  }
}
