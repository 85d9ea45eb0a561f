// D1 schema (drizzle): the directory (vendors, keys, customers, contracts, enrollments,
// collectors), the record projection filled from each ContractDO's outbox (records, usage facts
// and their hourly rollups), and idempotency keys.
// Instants are integer ms; decimals (money, units) are TEXT, never REAL.
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const vendors = sqliteTable("vendors", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  created_at: integer("created_at").notNull(),
});

export const apiKeys = sqliteTable("api_keys", {
  id: text("id").primaryKey(),
  vendor_id: text("vendor_id").notNull().references(() => vendors.id),
  key_hash: text("key_hash").notNull().unique(),
  created_at: integer("created_at").notNull(),
  revoked_at: integer("revoked_at"),
  name: text("name"),
  /** 1: the key may only read (GET); mutations answer 403 `read_only_key`. */
  read_only: integer("read_only").notNull().default(0),
}, (t) => [index("api_keys_vendor").on(t.vendor_id, t.id)]);

export const customers = sqliteTable("customers", {
  id: text("id").primaryKey(),
  vendor_id: text("vendor_id").notNull().references(() => vendors.id),
  name: text("name").notNull(),
  external_id: text("external_id"),
  created_at: integer("created_at").notNull(),
}, (t) => [index("customers_vendor").on(t.vendor_id, t.id)]);

export const contracts = sqliteTable("contracts", {
  id: text("id").primaryKey(),
  vendor_id: text("vendor_id").notNull().references(() => vendors.id),
  customer_id: text("customer_id").notNull().references(() => customers.id),
  plan_json: text("plan_json").notNull(),
  start_date: text("start_date").notNull(),
  start_at: integer("start_at").notNull(),
  timezone: text("timezone").notNull(),
  statement_grace_h: integer("statement_grace_h").notNull(),
  expected_sync_s: integer("expected_sync_s").notNull(),
  created_at: integer("created_at").notNull(),
}, (t) => [index("contracts_vendor").on(t.vendor_id, t.id)]);

export const enrollments = sqliteTable("enrollments", {
  id: text("id").primaryKey(),
  token_hash: text("token_hash").notNull().unique(),
  contract_id: text("contract_id").notNull().references(() => contracts.id),
  vendor_id: text("vendor_id").notNull(),
  created_at: integer("created_at").notNull(),
  expires_at: integer("expires_at").notNull(),
  used_at: integer("used_at"),
  collector_id: text("collector_id"),
});

export const collectors = sqliteTable("collectors", {
  id: text("id").primaryKey(),
  contract_id: text("contract_id").notNull().references(() => contracts.id),
  vendor_id: text("vendor_id").notNull(),
  public_key: text("public_key").notNull(),
  token_hash: text("token_hash").notNull().unique(),
  site: text("site").notNull(),
  enrolled_at: integer("enrolled_at").notNull(),
  /** Projected from the DO: highest receipted seq, last sync, flags (JSON array). */
  hwm: integer("hwm").notNull().default(0),
  last_sync: integer("last_sync"),
  flags_json: text("flags_json").notNull().default("[]"),
}, (t) => [index("collectors_contract").on(t.contract_id)]);

/** Every receipted record, as the DO stored it; usage columns are extracted for queries. */
export const records = sqliteTable("records", {
  collector_id: text("collector_id").notNull(),
  seq: integer("seq").notNull(),
  contract_id: text("contract_id").notNull(),
  hash: text("hash").notNull(),
  kind: text("kind").notNull(),
  ts: integer("ts").notNull(),
  received_at: integer("received_at").notNull(),
  quarantine: text("quarantine"),
  feature: text("feature"),
  user: text("user"),
  host: text("host"),
  start: integer("start"),
  end: integer("end"),
  count: integer("count"),
  record_json: text("record_json").notNull(),
}, (t) => [
  primaryKey({ columns: [t.collector_id, t.seq] }),
  // The reconciler walks a contract's collectors (reconcile.ts); the export pages a contract's
  // records in chain order from a (collector_id, seq) cursor, a seek on this index.
  index("records_contract_collector").on(t.contract_id, t.collector_id, t.seq),
  // The sites list counts each site's quarantined records: only those are in this index (covering,
  // so SQLite prefers it to records_contract_collector).
  index("records_quarantined").on(t.contract_id, t.collector_id, t.quarantine).where(sql`${t.quarantine} IS NOT NULL`),
]);

export const idempotencyKeys = sqliteTable("idempotency_keys", {
  vendor_id: text("vendor_id").notNull(),
  key: text("key").notNull(),
  request_hash: text("request_hash").notNull(),
  /** null while the first request is still running. */
  status: integer("status"),
  response_json: text("response_json"),
  /** When the key was claimed: an answer is kept 24 h, a claim without one is released after 60 s. */
  created_at: integer("created_at").notNull(),
  /** A random token per claim, so a request whose claim was released cannot overwrite its successor's. */
  claim: text("claim"),
}, (t) => [primaryKey({ columns: [t.vendor_id, t.key] }), index("idempotency_keys_created").on(t.created_at)]);

/** Customer-facing capability links to GET /status/:token (the token is stored only hashed). */
export const statusLinks = sqliteTable("status_links", {
  id: text("id").primaryKey(),
  vendor_id: text("vendor_id").notNull().references(() => vendors.id),
  contract_id: text("contract_id").notNull().references(() => contracts.id),
  token_hash: text("token_hash").notNull().unique(),
  name: text("name"),
  created_at: integer("created_at").notNull(),
  revoked_at: integer("revoked_at"),
}, (t) => [index("status_links_contract").on(t.contract_id, t.id)]);

/**
 * Vendor console sign-ins (worker/console/session.ts). The cookie holds a random session secret;
 * only its hash is stored, with the API key it was opened with (by id and hash, never the key).
 */
export const consoleSessions = sqliteTable("console_sessions", {
  id_hash: text("id_hash").primaryKey(),
  vendor_id: text("vendor_id").notNull().references(() => vendors.id),
  api_key_id: text("api_key_id").notNull().references(() => apiKeys.id),
  key_hash: text("key_hash").notNull(),
  /** Per-session CSRF token, sent in every form and compared on every POST. */
  csrf_token: text("csrf_token").notNull(),
  created_at: integer("created_at").notNull(),
  expires_at: integer("expires_at").notNull(),
}, (t) => [index("console_sessions_key").on(t.api_key_id)]);

/**
 * What each rateable usage interval and each denial contributes to the usage history, as the drain
 * last applied it to `usage_rollups` (worker/contract/rollup-drain.ts): the rollups are always the
 * sum of these rows. A denial has `start = end = at`, count 0, units "0". `units_num` is the exact
 * numerator over shared/pricing's UNIT_DEN (3.6 × 10^18), decimal TEXT. `first` is 1 on the interval
 * that starts its session (smallest start, then seq), which is where the session is counted.
 */
export const usageFacts = sqliteTable("usage_facts", {
  collector_id: text("collector_id").notNull(),
  seq: integer("seq").notNull(),
  contract_id: text("contract_id").notNull(),
  kind: text("kind").notNull(),
  session: text("session"),
  feature: text("feature").notNull(),
  /** "" when the record names none. */
  product: text("product").notNull(),
  user: text("user").notNull(),
  host: text("host").notNull(),
  start: integer("start").notNull(),
  end: integer("end").notNull(),
  count: integer("count").notNull(),
  units_num: text("units_num").notNull(),
  first: integer("first").notNull(),
  /** Draws the record opened (use windows, licenses checked out; shared/pricing draws.ts). */
  draws: integer("draws").notNull().default(0),
}, (t) => [
  primaryKey({ columns: [t.collector_id, t.seq] }),
  index("usage_facts_contract_collector").on(t.contract_id, t.collector_id),
  index("usage_facts_collector_start").on(t.collector_id, t.start),
  index("usage_facts_session").on(t.collector_id, t.session, t.start, t.seq),
]);

/**
 * Hourly usage history (DESIGN.md §7): one row per local hour of the contract's zone (named by
 * the UTC instant it starts; `day` is its local date) × collector × feature × product × user ×
 * host. license_s is the license-time inside the hour; units, sessions and denials count where
 * their interval starts (or the denial happened). `units_num` is a non-negative exact numerator as
 * decimal TEXT of at most 72 digits, so `GET …/usage` sums it exactly in SQL by 9-digit limbs.
 */
export const usageRollups = sqliteTable("usage_rollups", {
  contract_id: text("contract_id").notNull(),
  hour: integer("hour").notNull(),
  collector_id: text("collector_id").notNull(),
  feature: text("feature").notNull(),
  product: text("product").notNull(),
  user: text("user").notNull(),
  host: text("host").notNull(),
  day: text("day").notNull(),
  license_s: integer("license_s").notNull(),
  units_num: text("units_num").notNull(),
  sessions: integer("sessions").notNull(),
  denials: integer("denials").notNull(),
  /** Draws opened in the hour (counted where the opening interval starts). */
  draws: integer("draws").notNull().default(0),
}, (t) => [
  primaryKey({ columns: [t.contract_id, t.hour, t.collector_id, t.feature, t.product, t.user, t.host] }),
  index("usage_rollups_collector").on(t.contract_id, t.collector_id, t.hour),
]);

/** The figures of a coarse rollup: sums of the hourly rows it covers, units as the sums of their
 * 9-digit limbs (u0 lowest; unnormalised, so any sum stays exact in 64 bits) and `hours` the count
 * of hourly rows behind it (0 never stays: the row is deleted). */
const coarseFigures = {
  license_s: integer("license_s").notNull(),
  u0: integer("u0").notNull(), u1: integer("u1").notNull(), u2: integer("u2").notNull(), u3: integer("u3").notNull(),
  u4: integer("u4").notNull(), u5: integer("u5").notNull(), u6: integer("u6").notNull(), u7: integer("u7").notNull(),
  sessions: integer("sessions").notNull(),
  denials: integer("denials").notNull(),
  draws: integer("draws").notNull(),
  hours: integer("hours").notNull(),
};

/**
 * Daily usage history: `usage_rollups` summed per local day (its `day`) × collector × feature ×
 * product × user × host, kept equal to them by SQL triggers on `usage_rollups` (migration 0007),
 * so every writer of the hourly rows — drain, re-rating, superseded forks, the reconciler — moves
 * these too in the same statement. `GET …/usage` reads whole days here (usage-report.ts).
 */
export const usageDays = sqliteTable("usage_days", {
  contract_id: text("contract_id").notNull(),
  day: text("day").notNull(),
  collector_id: text("collector_id").notNull(),
  feature: text("feature").notNull(),
  product: text("product").notNull(),
  user: text("user").notNull(),
  host: text("host").notNull(),
  ...coarseFigures,
}, (t) => [primaryKey({ columns: [t.contract_id, t.day, t.collector_id, t.feature, t.product, t.user, t.host] })]);

/** Monthly usage history: `usage_rollups` summed per local month (YYYY-MM of `day`), as usage_days. */
export const usageMonths = sqliteTable("usage_months", {
  contract_id: text("contract_id").notNull(),
  month: text("month").notNull(),
  collector_id: text("collector_id").notNull(),
  feature: text("feature").notNull(),
  product: text("product").notNull(),
  user: text("user").notNull(),
  host: text("host").notNull(),
  ...coarseFigures,
}, (t) => [primaryKey({ columns: [t.contract_id, t.month, t.collector_id, t.feature, t.product, t.user, t.host] })]);

/**
 * Contracts whose hourly history from before migration 0007 is not yet all in usage_days and
 * usage_months: the rows before `next_hour` are; the triggers act only on those, and the
 * ContractDO's alarm sums the rest in pages (usage-coarse-backfill.ts). No row: whole.
 */
export const usageCoarseBackfill = sqliteTable("usage_coarse_backfill", {
  contract_id: text("contract_id").primaryKey(),
  next_hour: integer("next_hour").notNull(),
});

/**
 * Per contract: a revision bumped by every write to its facts and rollups (each write checks the
 * revision it read, so a write computed from a stale read aborts), and the longest usage interval
 * seen, which bounds how far back an hour's intervals can start (reconcile.ts).
 */
export const projectionRevs = sqliteTable("projection_revs", {
  contract_id: text("contract_id").primaryKey(),
  rev: integer("rev").notNull(),
  max_span_ms: integer("max_span_ms").notNull(),
});

/** Never holds a row: a write batch inserts NULL here when its revision check fails, which aborts
 * (rolls back) the whole D1 batch. D1 has no other way to abort a batch on a condition. */
export const projectionGuard = sqliteTable("projection_guard", {
  revision_changed: integer("revision_changed").notNull(),
});
