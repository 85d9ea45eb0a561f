// The ContractDO's pricing tables (DESIGN.md §6, docs/pricing.md "Caching contract"), appended as
// one step of storage-schema.ts. Units are bigint numerators as decimal TEXT, never REAL.
//
// Persisted form: every rateable usage interval (`usage_intervals`), the pieces it was rated into
// (`rated_pieces`, one row per (interval, piece start): the ledger's buckets are their sums) and a
// cursor per session. A woken DO reloads the ledger by adding the stored pieces — no re-rating —
// so its balance and statements are identical to those before the eviction.
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
