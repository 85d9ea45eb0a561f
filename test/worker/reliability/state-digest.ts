// A cheap, complete fingerprint of the edge's state, to prove "a refused request changed
// nothing": per table of D1 and of a contract's Durable Object, the row count and a SHA-256 of
// every row. Tables are listed from sqlite_master, so tables added later are covered too.
import { env, runInDurableObject } from "cloudflare:test";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { ContractDO } from "../../../worker/contract/contract-do.ts";
import { contractStub } from "../edge-fixture.ts";

/** table → "count:hash" (or the rows themselves when a caller wants to inspect them). */
export type Digest = Record<string, string>;

/** Left out of a digest: a whole `table`, or a `table.column`. */
export type Exclusions = ReadonlySet<string>;

const encoder = new TextEncoder();
const INTERNAL = /^(sqlite_|_cf_|d1_migrations)/;

function cell(value: unknown): unknown {
  if (value instanceof ArrayBuffer) return bytesToHex(new Uint8Array(value));
  if (value instanceof Uint8Array) return bytesToHex(value);
  return value;
}

/** A table's rows as one canonical text (sorted row lines), taken synchronously. */
function tableText(table: string, rows: Record<string, unknown>[], exclude: Exclusions): { count: number; text: string } {
  const lines = rows.map((row) => JSON.stringify(Object.entries(row).filter(([k]) => !exclude.has(`${table}.${k}`)).map(([k, v]) => [k, cell(v)])));
  lines.sort();
  return { count: rows.length, text: lines.join("\n") };
}

/** "count:hash" of each table's text; the runtime's SHA-256 (native) does the hashing. */
async function hashTables(prefix: string, texts: Record<string, { count: number; text: string }>): Promise<Digest> {
  const digest: Digest = {};
  for (const [table, { count, text }] of Object.entries(texts)) {
    digest[`${prefix}${table}`] = `${count}:${bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text)))).slice(0, 32)}`;
  }
  return digest;
}

/** Every D1 table (the directory and the projection). */
export async function d1Digest(exclude: Exclusions = new Set()): Promise<Digest> {
  const tables = (await env.DB.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all<{ name: string }>()).results
    .map((t) => t.name).filter((n) => !INTERNAL.test(n));
  const results = await env.DB.batch(tables.map((t) => env.DB.prepare(`SELECT * FROM "${t}"`)));
  const texts: Record<string, { count: number; text: string }> = {};
  tables.forEach((t, i) => { if (!exclude.has(t)) texts[t] = tableText(t, results[i]!.results as Record<string, unknown>[], exclude); });
  return hashTables("d1.", texts);
}

/** Every table of one contract's Durable Object (chains, records, evidence, usage, outbox, doc…). */
export async function doDigest(contractId: string, exclude: Exclusions = new Set()): Promise<Digest> {
  // Every table read in one synchronous step: nothing (an alarm's drain) runs in between.
  const texts = await runInDurableObject(contractStub(contractId), (_instance: ContractDO, state) => {
    const sql = state.storage.sql;
    const tables = sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray()
      .map((t) => t.name).filter((n) => !INTERNAL.test(n));
    const out: Record<string, { count: number; text: string }> = {};
    for (const t of tables) if (!exclude.has(t)) out[t] = tableText(t, sql.exec(`SELECT * FROM "${t}"`).toArray() as Record<string, unknown>[], exclude);
    return out;
  });
  return hashTables("do.", texts);
}

/** D1 plus the DOs of the given contracts. */
export async function edgeDigest(contractIds: readonly string[], exclude: Exclusions = new Set()): Promise<Digest> {
  const digest = await d1Digest(exclude);
  for (const id of contractIds) {
    for (const [k, v] of Object.entries(await doDigest(id, exclude))) digest[`${id}:${k}`] = v;
  }
  return digest;
}

/** Tables whose digests differ (for a readable failure). */
export function changedTables(before: Digest, after: Digest): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => before[k] !== after[k]).sort();
}
