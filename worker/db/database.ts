// The typed drizzle handle over the D1 binding, and the lookups nearly every request makes,
// prepared once.
import { and, eq, isNull, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import * as schema from "./schema.ts";

export type Database = ReturnType<typeof build>;

function build(d1: D1Database) {
  return drizzle(d1, { schema });
}

/** One handle per binding object, for the isolate's life: drizzle() derives the relational
 *  config of the whole schema on every call (~0.1 ms of CPU, and most requests open the database
 *  two or three times), and the handle keeps no per-request state (no transactions on D1). */
const handles = new WeakMap<D1Database, Database>();

export function database(d1: D1Database): Database {
  let db = handles.get(d1);
  if (!db) handles.set(d1, (db = build(d1)));
  return db;
}

/** The per-request lookups as prepared queries: drizzle otherwise builds the SQL text from the
 *  query builder on every call, a fifth of the CPU of a request refused after its API key lookup
 *  (bench/profile/edge-cpu-profile.ts). A prepared query only binds its values: a D1 statement's
 *  bind() returns a new statement, so concurrent requests share it safely. */
function prepare(db: Database) {
  const { apiKeys, collectors, contracts, customers } = schema;
  return {
    /** The live (unrevoked) API key with this SHA-256 hash. */
    apiKeyByHash: db.select({ id: apiKeys.id, vendor_id: apiKeys.vendor_id, read_only: apiKeys.read_only }).from(apiKeys)
      .where(and(eq(apiKeys.key_hash, sql.placeholder("hash")), isNull(apiKeys.revoked_at))).prepare(),
    collectorById: db.select().from(collectors).where(eq(collectors.id, sql.placeholder("id"))).prepare(),
    vendorContract: db.select().from(contracts).where(and(eq(contracts.id, sql.placeholder("id")), eq(contracts.vendor_id, sql.placeholder("vendor")))).prepare(),
    vendorCustomer: db.select().from(customers).where(and(eq(customers.id, sql.placeholder("id")), eq(customers.vendor_id, sql.placeholder("vendor")))).prepare(),
  };
}

export type Queries = ReturnType<typeof prepare>;
const prepared = new WeakMap<Database, Queries>();

export function queries(db: Database): Queries {
  let q = prepared.get(db);
  if (!q) prepared.set(db, (q = prepare(db)));
  return q;
}
