// D1 schema (drizzle): the directory (vendors, keys, customers, contracts, enrollments,
// collectors), the record projection filled from each ContractDO's outbox, and idempotency keys.
// Instants are integer ms; decimals (later: money, units) are TEXT, never REAL.
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
  index("records_contract_start").on(t.contract_id, t.start),
]);

export const idempotencyKeys = sqliteTable("idempotency_keys", {
  vendor_id: text("vendor_id").notNull(),
  key: text("key").notNull(),
  request_hash: text("request_hash").notNull(),
  /** null while the first request is still running. */
  status: integer("status"),
  response_json: text("response_json"),
  created_at: integer("created_at").notNull(),
}, (t) => [primaryKey({ columns: [t.vendor_id, t.key] })]);

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

/** Rated units of each usage interval (projected from the DO's ledger; re-upserted when a session
 * is re-rated). `units_num` is the exact numerator over shared/pricing's UNIT_DEN (3.6 × 10^18),
 * decimal TEXT: a unit value is not always a finite decimal (1 s at 1 unit/h = 1/3600). */
export const intervalUnits = sqliteTable("interval_units", {
  collector_id: text("collector_id").notNull(),
  seq: integer("seq").notNull(),
  contract_id: text("contract_id").notNull(),
  session: text("session").notNull(),
  units_num: text("units_num").notNull(),
}, (t) => [primaryKey({ columns: [t.collector_id, t.seq] }), index("interval_units_contract").on(t.contract_id)]);
