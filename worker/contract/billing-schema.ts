import { parseScaled } from "../../shared/decimal/decimal.ts";
import { minorUnits } from "../../shared/pricing/index.ts";
import { addCarried } from "./statement-rows.ts";

// The ContractDO's pricing tables (DESIGN.md §6), as steps of storage-schema.ts. Units are bigint
// numerators as decimal TEXT, never REAL.
//
// BILLING_STEP is the first form (kept as it ran: a DO that has not seen it yet runs it first);
// LIVE_LEDGER_STEP replaces its derived tables with the live ledger's (shared/pricing/live): usage
// intervals and rated pieces keyed by interned source numbers, bucket aggregates, the grant state
// after each period, frozen statements as line rows with their unit ranges, and what each closed
// period's statements carried. Its migration keeps the intervals and frozen statements and queues
// a re-rating job from the contract start, which the alarm runs in chunks.
export const BILLING_STEP = `
  CREATE TABLE plan_versions (effective_at INTEGER PRIMARY KEY, plan_json TEXT NOT NULL, created_at INTEGER NOT NULL);
  CREATE TABLE grants (
    id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, request_hash TEXT NOT NULL, amount TEXT NOT NULL,
    priority INTEGER NOT NULL, effective_at INTEGER, expires_at INTEGER, created_at INTEGER NOT NULL);
  CREATE TABLE usage_intervals (
    ref TEXT PRIMARY KEY, collector_id TEXT NOT NULL, seq INTEGER NOT NULL, session TEXT NOT NULL, feature TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, count INTEGER NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX usage_intervals_session ON usage_intervals (session);
  CREATE INDEX usage_intervals_seq ON usage_intervals (collector_id, seq);
  CREATE TABLE rated_pieces (
    ref TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, session TEXT NOT NULL, feature TEXT NOT NULL,
    period INTEGER NOT NULL, arrival INTEGER NOT NULL, segment INTEGER NOT NULL, license_ms INTEGER NOT NULL,
    billed_ms INTEGER NOT NULL, units TEXT NOT NULL, rated INTEGER NOT NULL, PRIMARY KEY (ref, start)) WITHOUT ROWID;
  CREATE INDEX rated_pieces_session ON rated_pieces (session);
  CREATE TABLE session_cursors (session TEXT PRIMARY KEY, cursor_json TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE frozen_statements (
    period_index INTEGER PRIMARY KEY, start_date TEXT NOT NULL, statement_json TEXT NOT NULL, frozen_at INTEGER NOT NULL);
  CREATE TABLE alert_config (
    one INTEGER PRIMARY KEY CHECK (one = 1), webhook_url TEXT NOT NULL, thresholds_json TEXT NOT NULL, updated_at INTEGER NOT NULL);
  CREATE TABLE alert_state (threshold INTEGER PRIMARY KEY, fired INTEGER NOT NULL);
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, body TEXT NOT NULL,
    created_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL,
    delivered_at INTEGER, last_error TEXT);
  CREATE INDEX events_pending ON events (next_attempt_at) WHERE delivered_at IS NULL;`;

export const LIVE_LEDGER_TABLES = `
  CREATE TABLE rating_sources (no INTEGER PRIMARY KEY, collector_id TEXT NOT NULL UNIQUE);
  CREATE TABLE rating_sessions (
    id INTEGER PRIMARY KEY, source_no INTEGER NOT NULL, name TEXT NOT NULL, rev INTEGER NOT NULL,
    first_start INTEGER, increment_ms INTEGER, minimum_ms INTEGER, grace_ms INTEGER, cum_ms INTEGER, last_end INTEGER,
    UNIQUE (source_no, name));
  CREATE TABLE usage_intervals (
    source_no INTEGER NOT NULL, seq INTEGER NOT NULL, session_id INTEGER NOT NULL, feature TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, count INTEGER NOT NULL, received_at INTEGER NOT NULL,
    PRIMARY KEY (source_no, seq)) WITHOUT ROWID;
  CREATE INDEX usage_intervals_session ON usage_intervals (session_id);
  CREATE INDEX usage_intervals_end ON usage_intervals ("end", start);
  CREATE TABLE rated_pieces (
    source_no INTEGER NOT NULL, seq INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    period INTEGER NOT NULL, arrival INTEGER NOT NULL, segment INTEGER NOT NULL, billed_ms INTEGER NOT NULL,
    units TEXT NOT NULL, rated INTEGER NOT NULL, PRIMARY KEY (source_no, seq, start)) WITHOUT ROWID;
  CREATE INDEX rated_pieces_segment ON rated_pieces (segment, start, source_no, seq);
  CREATE TABLE usage_buckets (
    period INTEGER NOT NULL, segment INTEGER NOT NULL, arrival INTEGER NOT NULL, feature TEXT NOT NULL,
    license_ms INTEGER NOT NULL, billed_ms INTEGER NOT NULL, units TEXT NOT NULL, rated INTEGER NOT NULL, pieces INTEGER NOT NULL,
    PRIMARY KEY (period, segment, arrival, feature)) WITHOUT ROWID;
  CREATE INDEX usage_buckets_arrival ON usage_buckets (arrival, period);
  CREATE TABLE period_folds (period INTEGER PRIMARY KEY, state_json TEXT NOT NULL);
  CREATE TABLE rating_state (one INTEGER PRIMARY KEY CHECK (one = 1), terms_rev INTEGER NOT NULL, adjust_from INTEGER NOT NULL, job_json TEXT);
  CREATE TABLE frozen_statements (
    period_index INTEGER PRIMARY KEY, start_date TEXT NOT NULL, period_start TEXT NOT NULL, period_end TEXT NOT NULL,
    currency TEXT NOT NULL, total TEXT NOT NULL, frozen_at INTEGER NOT NULL);
  CREATE TABLE statement_lines (
    period_index INTEGER NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL, description TEXT NOT NULL,
    feature TEXT, tier INTEGER, quantity TEXT NOT NULL, unit_price TEXT, amount TEXT NOT NULL, ref_period TEXT,
    PRIMARY KEY (period_index, position)) WITHOUT ROWID;
  CREATE UNIQUE INDEX statement_lines_id ON statement_lines (period_index, id);
  CREATE TABLE line_ranges (
    period_index INTEGER NOT NULL, line_position INTEGER NOT NULL, position INTEGER NOT NULL, segment INTEGER NOT NULL,
    from_units TEXT NOT NULL, to_units TEXT NOT NULL, PRIMARY KEY (period_index, line_position, position)) WITHOUT ROWID;
  CREATE TABLE carried_lines (
    period_index INTEGER NOT NULL, position INTEGER NOT NULL, id TEXT NOT NULL, quantity_micro TEXT NOT NULL, amount_minor TEXT NOT NULL,
    description TEXT NOT NULL, tier INTEGER, unit_price TEXT, PRIMARY KEY (period_index, position)) WITHOUT ROWID;
  CREATE UNIQUE INDEX carried_lines_id ON carried_lines (period_index, id);`;

/** From BILLING_STEP's tables to the live ledger's (also drops the skeleton's `feature_usage`). */
export function liveLedgerStep(sql: SqlStorage): void {
  sql.exec(`
    DROP TABLE feature_usage;
    DROP TABLE rated_pieces;
    DROP TABLE session_cursors;
    DROP INDEX usage_intervals_session;
    DROP INDEX usage_intervals_seq;
    ALTER TABLE usage_intervals RENAME TO usage_intervals_v3;
    ALTER TABLE frozen_statements RENAME TO frozen_statements_v3;`);
  sql.exec(LIVE_LEDGER_TABLES);
  sql.exec(`
    INSERT INTO rating_sources (collector_id) SELECT DISTINCT collector_id FROM usage_intervals_v3 ORDER BY collector_id;
    INSERT INTO rating_sessions (source_no, name, rev)
      SELECT DISTINCT s.no, substr(o.session, length(o.collector_id) + 2), 0 FROM usage_intervals_v3 o JOIN rating_sources s ON s.collector_id = o.collector_id;
    INSERT INTO usage_intervals (source_no, seq, session_id, feature, start, "end", count, received_at)
      SELECT s.no, o.seq, r.id, o.feature, o.start, o."end", o.count, o.received_at FROM usage_intervals_v3 o
      JOIN rating_sources s ON s.collector_id = o.collector_id JOIN rating_sessions r ON r.source_no = s.no AND r.name = substr(o.session, length(o.collector_id) + 2);
    INSERT INTO frozen_statements (period_index, start_date, period_start, period_end, currency, total, frozen_at)
      SELECT period_index, start_date, statement_json ->> '$.period.start', statement_json ->> '$.period.end',
        statement_json ->> '$.currency', statement_json ->> '$.total', frozen_at FROM frozen_statements_v3;
    INSERT INTO statement_lines (period_index, position, id, kind, description, feature, tier, quantity, unit_price, amount, ref_period)
      SELECT f.period_index, l.key, l.value ->> '$.id', l.value ->> '$.kind', l.value ->> '$.description', l.value ->> '$.feature',
        l.value ->> '$.tier', l.value ->> '$.quantity', l.value ->> '$.unit_price', l.value ->> '$.amount', l.value ->> '$.ref_period'
      FROM frozen_statements_v3 f, json_each(f.statement_json, '$.lines') l;
    DROP TABLE usage_intervals_v3;
    DROP TABLE frozen_statements_v3;
    INSERT INTO rating_state (one, terms_rev, adjust_from, job_json) VALUES (1, 1, (SELECT coalesce(max(period_index), -1) + 1 FROM frozen_statements),
      CASE WHEN EXISTS (SELECT 1 FROM usage_intervals) THEN
        json_object('rev', 1, 'from', -8640000000000000, 'to', NULL, 'after', NULL, 'done', 0, 'total', (SELECT count(*) FROM usage_intervals)) END);`);
  // What each closed period's statements carried: its own lines, then later adjustments to it.
  const minor = (sql.exec<{ currency: string }>("SELECT currency FROM frozen_statements LIMIT 1").toArray()[0]?.currency ?? "USD");
  const decimals = minorUnits(minor);
  const indexOf = new Map(sql.exec<{ period_index: number; start_date: string }>("SELECT period_index, start_date FROM frozen_statements").toArray().map((r) => [r.start_date, r.period_index]));
  for (const l of sql.exec<{ period_index: number; id: string; kind: string; description: string; tier: number | null; quantity: string; unit_price: string | null; amount: string; ref_period: string | null }>(
    "SELECT period_index, id, kind, description, tier, quantity, unit_price, amount, ref_period FROM statement_lines ORDER BY period_index, position").toArray()) {
    const adjustment = l.kind === "adjustment" && l.ref_period !== null;
    const period = adjustment ? indexOf.get(l.ref_period!)! : l.period_index;
    const id = adjustment ? l.id.slice(`adj:${l.ref_period}:`.length) : l.id;
    addCarried(sql, period, id, {
      quantity_micro: parseScaled(l.quantity, 6), amount_minor: parseScaled(l.amount, decimals),
      line: { description: l.description, ...(l.tier !== null ? { tier: l.tier } : {}), ...(l.unit_price !== null ? { unit_price: l.unit_price } : {}) },
    });
  }
}
