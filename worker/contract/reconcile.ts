// The reconciler (docs/guarantees.md "Guarantee 5"): compares a contract's D1 projection with its
// ContractDO one bounded page at a time and repairs every difference. A run is a walk of three
// phases, each call doing one page and answering the cursor of the next:
//   collectors  the `collectors` sync columns of every collector (differences → `collector_exact`);
//   records     per collector, `limit` seqs of `records` and `usage_facts` against the DO's records
//               and rated units (damaged runs → `supersede` then `records` outbox rows, drained like
//               any other: the drain moves the rollups by the difference);
//   rollups     per collector, 24 hours of `usage_rollups` against the sum of D1's facts, and each
//               session's `first` mark (rewritten in place; rollup-check.ts).
// Every repair is idempotent, so reconciling twice, or while the outbox still drains, is harmless.
//
// Read order in the records phase: D1 first (async), then the DO in one synchronous transaction.
// A batch or a drain that lands in between can only make a row look missing, never hide a damaged
// one, and rewriting a range that was in fact fine changes nothing.
import type { LocalHours } from "../../shared/time/local-hours.ts";
import type { ChainRow } from "./chains.ts";
import { projectRecord, type StoredRecord } from "./outbox.ts";
import { checkWindow, nextHourWithData, WINDOW_MS } from "./rollup-check.ts";
import { FACT_COLUMNS } from "./rollup-drain.ts";
import { factsInRange } from "./usage-facts.ts";

type Row = Record<string, unknown>;
type SqlRow = Record<string, SqlStorageValue>;

export type ReconcilePhase = "collectors" | "records" | "rollups";
/** Where the next page starts: the phase, the collector (null: the first one) and a seq or hour. */
export interface ReconcileCursor { phase: ReconcilePhase; collector: string | null; at: number }

export interface TableReport { checked: number; missing: number; different: number; extra: number }
export interface ReconcileReport extends TableReport {
  contract_id: string;
  /** The phase and collector this page covered. */
  phase: ReconcilePhase;
  collector_id: string | null;
  /** Differences repaired: by a queued outbox row (records, facts, collectors) or in place (rollups). */
  repaired: number;
  /** Differences the DO cannot repair: a D1 collector row missing (only enrollment creates it), or one
   * whose collector the DO has never seen (its chain starts at its first batch). */
  unrepairable: number;
  /** Outbox rows queued by this page, and the outbox length before it (non-zero: D1 is still behind). */
  enqueued: number;
  pending_outbox: number;
  tables: { collectors: TableReport; records: TableReport; usage_facts: TableReport; usage_rollups: TableReport };
  /** The next page; null when the walk is complete. */
  next_cursor: string | null;
}

export interface ReconcileHost { sql: SqlStorage; d1: D1Database; contractId: string; hours: LocalHours; transact<T>(f: () => T): T }

export const RECONCILE_DEFAULT_SEQS = 2000;
export const RECONCILE_MAX_SEQS = 5000;

const RECORD_COLUMNS = ["collector_id", "seq", "contract_id", "hash", "kind", "ts", "received_at", "quarantine", "feature", "user", "host", "start", "end", "count", "record_json"] as const;
const FACT_COMPARED = FACT_COLUMNS.replaceAll('"', "").split(", ").filter((c) => c !== "first");
const COLLECTOR_COLUMNS = ["hwm", "last_sync", "flags_json"] as const;

const emptyTable = (): TableReport => ({ checked: 0, missing: 0, different: 0, extra: 0 });

export function encodeReconcileCursor(c: ReconcileCursor): string {
  return btoa(JSON.stringify([c.phase, c.collector, c.at])).replaceAll("=", "");
}

export function decodeReconcileCursor(text: string): ReconcileCursor | undefined {
  try {
    const [phase, collector, at] = JSON.parse(atob(text)) as [unknown, unknown, unknown];
    if ((phase === "collectors" || phase === "records" || phase === "rollups") && (collector === null || typeof collector === "string")
      && Number.isSafeInteger(at) && (at as number) >= 0) return { phase, collector, at: at as number };
  } catch { /* not ours */ }
  return undefined;
}

/** One page of the walk that starts at `cursor` (undefined: the beginning). */
export async function reconcilePage(host: ReconcileHost, cursor: ReconcileCursor | undefined, seqs = RECONCILE_DEFAULT_SEQS): Promise<ReconcileReport> {
  const at = cursor ?? { phase: "collectors", collector: null, at: 0 };
  const report: ReconcileReport = {
    contract_id: host.contractId, phase: at.phase, collector_id: at.collector, checked: 0, missing: 0, different: 0, extra: 0,
    repaired: 0, unrepairable: 0, enqueued: 0,
    pending_outbox: host.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n,
    tables: { collectors: emptyTable(), records: emptyTable(), usage_facts: emptyTable(), usage_rollups: emptyTable() },
    next_cursor: null,
  };
  let next: ReconcileCursor | null;
  if (at.phase === "collectors") next = await collectorsPage(host, report);
  else {
    const collector = at.collector ?? await nextCollector(host, "", at.phase);
    report.collector_id = collector;
    if (collector === null) next = at.phase === "records" ? { phase: "rollups", collector: null, at: 0 } : null;
    else if (at.phase === "records") next = await recordsPage(host, report, collector, Math.max(1, at.at), Math.min(Math.max(1, seqs), RECONCILE_MAX_SEQS));
    else next = await rollupsPage(host, report, collector, at.at, at);
  }
  const all = Object.values(report.tables);
  for (const k of ["checked", "missing", "different", "extra"] as const) report[k] = all.reduce((n, t) => n + t[k], 0);
  report.repaired = report.missing + report.different + report.extra - report.unrepairable;
  report.next_cursor = next ? encodeReconcileCursor(next) : null;
  return report;
}

async function collectorsPage(host: ReconcileHost, report: ReconcileReport): Promise<ReconcileCursor> {
  const d1Rows = (await host.d1.prepare("SELECT id, hwm, last_sync, flags_json FROM collectors WHERE contract_id = ?").bind(host.contractId).all<Row>()).results;
  host.transact(() => {
    const t = report.tables.collectors;
    const d1Collectors = new Map(d1Rows.map((c) => [String(c.id), c]));
    for (const chain of host.sql.exec<ChainRow & SqlRow>("SELECT * FROM chains ORDER BY collector_id").toArray()) {
      t.checked++;
      const row = d1Collectors.get(chain.collector_id);
      d1Collectors.delete(chain.collector_id);
      if (!row) { t.missing++; report.unrepairable++; continue; }
      if (COLLECTOR_COLUMNS.every((c) => row[c] === chain[c])) continue;
      t.different++;
      host.sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector_exact', ?)", chain.collector_id);
      report.enqueued++;
    }
    // Enrolled collectors that never sent a batch have no chain yet: D1 must still show the defaults.
    for (const row of d1Collectors.values()) {
      t.checked++;
      if (row.hwm !== 0 || row.last_sync !== null || row.flags_json !== "[]") { t.different++; report.unrepairable++; }
    }
  });
  return { phase: "records", collector: null, at: 1 };
}

async function recordsPage(host: ReconcileHost, report: ReconcileReport, collector: string, from: number, seqs: number): Promise<ReconcileCursor> {
  const to = from + seqs - 1;
  const [d1Records, d1Facts, d1Max] = await host.d1.batch([
    host.d1.prepare(`SELECT ${RECORD_COLUMNS.map((c) => `"${c}"`).join(", ")} FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ?`).bind(collector, from, to),
    host.d1.prepare(`SELECT ${FACT_COLUMNS} FROM usage_facts WHERE collector_id = ? AND seq BETWEEN ? AND ?`).bind(collector, from, to),
    host.d1.prepare("SELECT max(coalesce((SELECT max(seq) FROM records WHERE collector_id = ?1), 0), coalesce((SELECT max(seq) FROM usage_facts WHERE collector_id = ?1), 0)) AS seq").bind(collector),
  ]);
  const lastSeq = host.transact(() => {
    const records = host.sql.exec<StoredRecord & SqlRow>(
      "SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ?",
      collector, from, to).toArray().map((r) => projectRecord(host.contractId, r) as Row);
    const facts = factsInRange(host.sql, collector, from, to).map((f) => ({ ...f, contract_id: host.contractId }) as Row);
    const damaged = new Map<number, boolean>();
    const mark = (seq: number, mustDelete: boolean) => damaged.set(seq, (damaged.get(seq) ?? false) || mustDelete);
    compareRows(records, d1Records!.results as Row[], RECORD_COLUMNS, report.tables.records, mark);
    compareRows(facts, d1Facts!.results as Row[], FACT_COMPARED, report.tables.usage_facts, mark);
    for (const range of ranges(damaged)) {
      if (range.mustDelete) host.sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('supersede', ?, ?, ?)", collector, range.from, range.to);
      host.sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('records', ?, ?, ?)", collector, range.from, range.to);
      report.enqueued += range.mustDelete ? 2 : 1;
    }
    return host.sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM records WHERE collector_id = ?", collector).one().seq ?? 0;
  });
  if (to < Math.max(lastSeq, (d1Max!.results[0] as { seq: number }).seq)) return { phase: "records", collector, at: to + 1 };
  const following = await nextCollector(host, collector, "records");
  return following === null ? { phase: "rollups", collector: null, at: 0 } : { phase: "records", collector: following, at: 1 };
}

async function rollupsPage(host: ReconcileHost, report: ReconcileReport, collector: string, from: number, cursor: ReconcileCursor): Promise<ReconcileCursor | null> {
  const start = await nextHourWithData(host.d1, host.hours, host.contractId, collector, from);
  if (start === null) {
    const following = await nextCollector(host, collector, "rollups");
    return following === null ? null : { phase: "rollups", collector: following, at: 0 };
  }
  const outcome = await checkWindow(host.d1, host.hours, host.contractId, collector, start);
  // A drain landed between the read and the repair: the same page again, from a fresh read.
  if (!outcome.ok) return { ...cursor, collector };
  const w = outcome.report;
  report.tables.usage_rollups = { checked: w.checked, missing: w.missing, different: w.different, extra: w.extra };
  report.tables.usage_facts = { checked: w.flags_fixed, missing: 0, different: w.flags_fixed, extra: 0 };
  return { phase: "rollups", collector, at: start + WINDOW_MS };
}

/** The smallest collector id after `after` that the DO or D1 knows for this contract. */
async function nextCollector(host: ReconcileHost, after: string, phase: ReconcilePhase): Promise<string | null> {
  const tables = phase === "rollups" ? ["records", "usage_facts", "usage_rollups"] : ["records", "usage_facts"];
  const results = await host.d1.batch(tables.map((t) =>
    host.d1.prepare(`SELECT min(collector_id) AS id FROM ${t} WHERE contract_id = ? AND collector_id > ?`).bind(host.contractId, after)));
  const ids = results.map((r) => (r.results[0] as { id: string | null } | undefined)?.id ?? null);
  ids.push(host.sql.exec<{ id: string | null }>("SELECT min(collector_id) AS id FROM chains WHERE collector_id > ?", after).one().id);
  const known = ids.filter((id): id is string => id !== null).sort();
  return known[0] ?? null;
}

function compareRows(expected: Row[], actual: Row[], columns: readonly string[], report: TableReport, mark: (seq: number, mustDelete: boolean) => void): void {
  const inD1 = new Map(actual.map((r) => [Number(r.seq), r]));
  for (const want of expected) {
    report.checked++;
    const seq = Number(want.seq);
    const have = inD1.get(seq);
    inD1.delete(seq);
    if (!have) { report.missing++; mark(seq, false); continue; }
    if (columns.some((c) => (want[c] ?? null) !== (have[c] ?? null))) { report.different++; mark(seq, true); }
  }
  for (const extra of inD1.values()) {
    report.checked++;
    report.extra++;
    mark(Number(extra.seq), true);
  }
}

/** Consecutive damaged seqs as ranges (the drain pages through long ones). */
function ranges(seqs: Map<number, boolean>): Array<{ from: number; to: number; mustDelete: boolean }> {
  const out: Array<{ from: number; to: number; mustDelete: boolean }> = [];
  for (const seq of [...seqs.keys()].sort((a, b) => a - b)) {
    const last = out[out.length - 1];
    if (last && seq === last.to + 1) { last.to = seq; last.mustDelete ||= seqs.get(seq)!; }
    else out.push({ from: seq, to: seq, mustDelete: seqs.get(seq)! });
  }
  return out;
}
