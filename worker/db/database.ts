// The typed drizzle handle over the D1 binding.
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
