// The reconciler (docs/guarantees.md "Guarantee 5"): compares a contract's D1 projection —
// `records`, `interval_units` and the `collectors` sync columns — with what its ContractDO holds,
// and repairs every difference by queueing outbox rows, which the alarm drains like any other.
// Repair is a rewrite of the damaged seq range: `supersede` (delete the range in D1) then
// `records` (re-insert it and upsert its units), or `collector_exact` for a collector row. Every
// write is idempotent, so reconciling twice, or while the outbox still drains, is harmless.
//
// Read order matters: D1 first (async), then the DO in one synchronous transaction. A batch or a
// drain that lands in between can only make a row look missing, never hide a damaged one, and
// rewriting a range that was in fact fine changes nothing.
import { projectRecord, type StoredRecord } from "./outbox.ts";
import type { ChainRow } from "./chains.ts";

type Row = Record<string, unknown>;
type SqlRow = Record<string, SqlStorageValue>;

export interface TableReport { checked: number; missing: number; different: number; extra: number }
export interface ReconcileReport extends TableReport {
  contract_id: string;
  /** Differences a queued outbox row will repair. */
  repaired: number;
  /** Differences the DO cannot repair: a D1 collector row missing (only enrollment creates it), or
   * one whose collector the DO has never seen (its chain starts at its first batch). */
  unrepairable: number;
  /** Outbox rows queued by this run, and the outbox length before it (non-zero: D1 is still behind). */
  enqueued: number;
  pending_outbox: number;
  tables: { records: TableReport; interval_units: TableReport; collectors: TableReport };
}

export interface D1Projection { records: Row[]; interval_units: Row[]; collectors: Row[] }

const RECORD_COLUMNS = ["collector_id", "seq", "contract_id", "hash", "kind", "ts", "received_at", "quarantine", "feature", "user", "host", "start", "end", "count", "record_json"] as const;
const UNIT_COLUMNS = ["collector_id", "seq", "contract_id", "session", "units_num"] as const;
const COLLECTOR_COLUMNS = ["hwm", "last_sync", "flags_json"] as const;
/** A `records` outbox row spans at most one batch's worth of seqs (outbox.ts). */
const MAX_RANGE = 5000;

/** The contract's rows in D1, and rows of its collectors filed under another contract. */
export async function readProjection(d1: D1Database, contractId: string): Promise<D1Projection> {
  const ours = "contract_id = ?1 OR collector_id IN (SELECT id FROM collectors WHERE contract_id = ?1)";
  const [records, units, collectors] = await d1.batch([
    d1.prepare(`SELECT * FROM records WHERE ${ours}`).bind(contractId),
    d1.prepare(`SELECT * FROM interval_units WHERE ${ours}`).bind(contractId),
    d1.prepare("SELECT id, hwm, last_sync, flags_json FROM collectors WHERE contract_id = ?1").bind(contractId),
  ]);
  return { records: records!.results as Row[], interval_units: units!.results as Row[], collectors: collectors!.results as Row[] };
}

/** What the drain would have written: every DO record, interval units and chain, as D1 rows. */
function expectedProjection(sql: SqlStorage, contractId: string): { records: Row[]; interval_units: Row[]; chains: ChainRow[] } {
  const records = sql.exec<StoredRecord & SqlRow>("SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine FROM records")
    .toArray().map((r) => projectRecord(contractId, r) as Row);
  const units = new Map<string, Row & { units: bigint }>();
  for (const r of sql.exec<{ collector_id: string; seq: number; session: string; units: string | null }>(
    `SELECT c.collector_id, i.seq, c.collector_id || ':' || s.name AS session, p.units FROM usage_intervals i JOIN rating_sources c ON c.no = i.source_no
       JOIN rating_sessions s ON s.id = i.session_id LEFT JOIN rated_pieces p ON p.source_no = i.source_no AND p.seq = i.seq`)) {
    const key = keyOf(r.collector_id, r.seq);
    const u = units.get(key) ?? { collector_id: r.collector_id, seq: r.seq, contract_id: contractId, session: r.session, units: 0n };
    if (r.units !== null) u.units += BigInt(r.units);
    units.set(key, u);
  }
  const interval_units = [...units.values()].map(({ units: n, ...u }) => ({ ...u, units_num: n.toString() }));
  const chains = sql.exec<ChainRow & SqlRow>("SELECT * FROM chains").toArray();
  return { records, interval_units, chains };
}

/** Compares, queues the repairs and reports. Run inside the DO's transactionSync. */
export function repairProjection(sql: SqlStorage, contractId: string, d1: D1Projection): ReconcileReport {
  const pending = sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
  const expected = expectedProjection(sql, contractId);
  // Per collector: damaged seqs, and whether a D1 row must go (then the range is deleted first).
  const damaged = new Map<string, Map<number, boolean>>();
  const mark = (collectorId: string, seq: number, mustDelete: boolean) => {
    const seqs = damaged.get(collectorId) ?? new Map<number, boolean>();
    seqs.set(seq, (seqs.get(seq) ?? false) || mustDelete);
    damaged.set(collectorId, seqs);
  };
  const records = compareRows(expected.records, d1.records, RECORD_COLUMNS, mark);
  const interval_units = compareRows(expected.interval_units, d1.interval_units, UNIT_COLUMNS, mark);

  let enqueued = 0;
  for (const [collectorId, seqs] of damaged) {
    for (const range of ranges(seqs)) {
      if (range.mustDelete) sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('supersede', ?, ?, ?)", collectorId, range.from, range.to);
      sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('records', ?, ?, ?)", collectorId, range.from, range.to);
      enqueued += range.mustDelete ? 2 : 1;
    }
  }

  const collectors: TableReport = { checked: 0, missing: 0, different: 0, extra: 0 };
  let unrepairable = 0;
  const d1Collectors = new Map(d1.collectors.map((c) => [String(c.id), c]));
  for (const chain of expected.chains) {
    collectors.checked++;
    const row = d1Collectors.get(chain.collector_id);
    d1Collectors.delete(chain.collector_id);
    if (!row) { collectors.missing++; unrepairable++; continue; }
    if (COLLECTOR_COLUMNS.every((c) => row[c] === chain[c])) continue;
    collectors.different++;
    sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector_exact', ?)", chain.collector_id);
    enqueued++;
  }
  // Enrolled collectors that never sent a batch have no chain yet: D1 must still show the defaults.
  for (const row of d1Collectors.values()) {
    collectors.checked++;
    if (row.hwm !== 0 || row.last_sync !== null || row.flags_json !== "[]") { collectors.different++; unrepairable++; }
  }

  const tables = { records, interval_units, collectors };
  const all = Object.values(tables);
  const sum = (k: keyof TableReport) => all.reduce((n, t) => n + t[k], 0);
  const differences = sum("missing") + sum("different") + sum("extra");
  return {
    contract_id: contractId, checked: sum("checked"), missing: sum("missing"), different: sum("different"), extra: sum("extra"),
    repaired: differences - unrepairable, unrepairable, enqueued, pending_outbox: pending, tables,
  };
}

function keyOf(collectorId: unknown, seq: unknown): string {
  return `${String(collectorId)}\u0000${String(seq)}`;
}

function compareRows(expected: Row[], actual: Row[], columns: readonly string[], mark: (collectorId: string, seq: number, mustDelete: boolean) => void): TableReport {
  const report: TableReport = { checked: 0, missing: 0, different: 0, extra: 0 };
  const inD1 = new Map(actual.map((r) => [keyOf(r.collector_id, r.seq), r]));
  for (const want of expected) {
    report.checked++;
    const key = keyOf(want.collector_id, want.seq);
    const have = inD1.get(key);
    inD1.delete(key);
    if (!have) { report.missing++; mark(String(want.collector_id), Number(want.seq), false); continue; }
    if (columns.some((c) => (want[c] ?? null) !== (have[c] ?? null))) { report.different++; mark(String(want.collector_id), Number(want.seq), true); }
  }
  for (const extra of inD1.values()) {
    report.checked++;
    report.extra++;
    mark(String(extra.collector_id), Number(extra.seq), true);
  }
  return report;
}

/** Consecutive damaged seqs as ranges of at most MAX_RANGE. */
function ranges(seqs: Map<number, boolean>): Array<{ from: number; to: number; mustDelete: boolean }> {
  const sorted = [...seqs.keys()].sort((a, b) => a - b);
  const out: Array<{ from: number; to: number; mustDelete: boolean }> = [];
  for (const seq of sorted) {
    const last = out[out.length - 1];
    if (last && seq === last.to + 1 && seq - last.from < MAX_RANGE) { last.to = seq; last.mustDelete ||= seqs.get(seq)!; }
    else out.push({ from: seq, to: seq, mustDelete: seqs.get(seq)! });
  }
  return out;
}
