// Drains the DO's outbox into the D1 projection, oldest row first, in bounded steps: a row naming
// a seq range is worked off PAGE_SEQS seqs at a time (its from_seq advances as pages land), and one
// alarm run does at most SEQS_PER_RUN seqs, so a re-rating of all history or a fork of 100k
// records never makes one run's work grow with history. Topics:
//   records   (collector, from, to): insert the DO's records (idempotent) and replace the range's
//             usage facts, moving the hourly rollups (rollup-drain.ts);
//   units     (collector, from, to): the range's rated units changed: replace its usage facts;
//   supersede (collector, from, to): the range left the DO (a resolved fork, or the reconciler
//             rewriting it): delete its records and facts;
//   collector / collector_exact: the collector's sync columns.
// Every step is idempotent, so a drain that fails halfway or runs twice converges; a row (or its
// from_seq) moves only after D1 accepted the page. D1 has no interactive transactions: each
// `batch()` is one.
import { and, between, eq, sql as dsql } from "drizzle-orm";
import { database } from "../db/database.ts";
import { collectors, records } from "../db/schema.ts";
import { LocalHours } from "../../shared/time/local-hours.ts";
import type { ChainRow } from "./chains.ts";
import { jsonChunks, replaceFacts, type ProjectionTarget } from "./rollup-drain.ts";
import { loadTerms } from "./terms.ts";
import { factsInRange } from "./usage-facts.ts";

interface OutboxRow { id: number; topic: string; collector_id: string; from_seq: number | null; to_seq: number | null }
export interface StoredRecord { collector_id: string; seq: number; hash: string; kind: string; record_json: string; received_at: number; quarantine: string | null }

/** Seqs per page: one D1 write batch of facts and the rollup rows they touch. */
export const PAGE_SEQS = 1000;
/** Seqs per alarm run (a row without a range counts as one). */
export const SEQS_PER_RUN = 10_000;

/** Drains up to SEQS_PER_RUN seqs; returns how many rows remain. Throws when D1 fails (rows kept). */
export async function drainOutbox(sql: SqlStorage, d1: D1Database, contractId: string, budget = SEQS_PER_RUN): Promise<number> {
  const target: ProjectionTarget = { d1, contractId, hours: new LocalHours(loadTerms(sql)!.timezone) };
  while (budget > 0) {
    const row = sql.exec<OutboxRow & Record<string, SqlStorageValue>>("SELECT * FROM outbox ORDER BY id LIMIT 1").toArray()[0];
    if (!row) break;
    if (row.topic === "records" || row.topic === "units" || row.topic === "supersede") {
      const from = row.from_seq ?? 0, end = row.to_seq ?? 0;
      const to = Math.min(end, from + Math.min(PAGE_SEQS, budget) - 1);
      await drainPage(sql, target, row, from, to);
      if (to >= end) sql.exec("DELETE FROM outbox WHERE id = ?", row.id);
      else sql.exec("UPDATE outbox SET from_seq = ? WHERE id = ?", to + 1, row.id);
      budget -= Math.max(1, to - from + 1);
    } else {
      const update = collectorUpdate(sql, d1, row.collector_id, row.topic === "collector_exact");
      if (update) await database(d1).batch([update]);
      sql.exec("DELETE FROM outbox WHERE id = ?", row.id);
      budget -= 1;
    }
  }
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
}

async function drainPage(sql: SqlStorage, t: ProjectionTarget, row: OutboxRow, from: number, to: number): Promise<void> {
  if (to < from) return;
  if (row.topic === "supersede") {
    // The facts first: once they are gone the range contributes nothing, whatever the records say.
    await replaceFacts(t, row.collector_id, from, to, []);
    await database(t.d1).batch([database(t.d1).delete(records).where(and(eq(records.collector_id, row.collector_id), between(records.seq, from, to)))]);
    return;
  }
  if (row.topic === "records") {
    const inserts = recordInserts(sql, t.d1, t.contractId, row.collector_id, from, to);
    if (inserts.length > 0) await t.d1.batch(inserts);
  }
  await replaceFacts(t, row.collector_id, from, to, factsInRange(sql, row.collector_id, from, to));
}

/** The DO's records in the range as D1 rows; ON CONFLICT DO NOTHING (a record never changes). */
function recordInserts(sql: SqlStorage, d1: D1Database, contractId: string, collectorId: string, from: number, to: number): D1PreparedStatement[] {
  const stored = sql.exec<StoredRecord & Record<string, SqlStorageValue>>(
    "SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ? ORDER BY seq",
    collectorId, from, to).toArray();
  const rows = stored.map((r) => {
    const p = projectRecord(contractId, r);
    return [p.collector_id, p.seq, p.hash, p.kind, p.ts, p.received_at, p.quarantine, p.feature, p.user, p.host, p.start, p.end, p.count, p.record_json];
  });
  return jsonChunks(rows).map((json) => d1.prepare(
    `INSERT INTO records (collector_id, seq, contract_id, hash, kind, ts, received_at, quarantine, feature, user, host, start, "end", count, record_json)
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?1, json_extract(value, '$[2]'), json_extract(value, '$[3]'),
       json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'),
       json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'),
       json_extract(value, '$[12]'), json_extract(value, '$[13]')
     FROM json_each(?2) WHERE true ON CONFLICT DO NOTHING`).bind(contractId, json));
}

/** `exact` (topic `collector_exact`, queued by the reconciler): the DO's current values as they
 * are, even lower than D1's (a damaged row, or an hwm a fork resolution lowered). */
function collectorUpdate(sql: SqlStorage, d1: D1Database, collectorId: string, exact: boolean) {
  const db = database(d1);
  const chain = sql.exec<ChainRow & Record<string, SqlStorageValue>>("SELECT * FROM chains WHERE collector_id = ?", collectorId).toArray()[0];
  if (!chain) return undefined;
  if (exact) return db.update(collectors).set({ hwm: chain.hwm, last_sync: chain.last_sync, flags_json: chain.flags_json }).where(eq(collectors.id, collectorId));
  // max(): an older snapshot drained late never moves the projection backwards.
  return db.update(collectors).set({
    hwm: dsql`max(${collectors.hwm}, ${chain.hwm})`,
    last_sync: chain.last_sync === null ? dsql`${collectors.last_sync}` : dsql`max(coalesce(${collectors.last_sync}, 0), ${chain.last_sync})`,
    flags_json: chain.flags_json,
  }).where(eq(collectors.id, collectorId));
}

/** A DO record as a D1 row; usage fields are pulled out for queries over raw records. */
export function projectRecord(contractId: string, r: StoredRecord): typeof records.$inferInsert {
  const parsed = JSON.parse(r.record_json) as { ts: number; data: Record<string, unknown> };
  const d = parsed.data;
  const usage = r.kind === "usage";
  const text = (v: unknown) => (typeof v === "string" ? v : null);
  const int = (v: unknown) => (typeof v === "number" ? v : null);
  return {
    collector_id: r.collector_id, seq: r.seq, contract_id: contractId, hash: r.hash, kind: r.kind,
    ts: parsed.ts, received_at: r.received_at, quarantine: r.quarantine,
    feature: text(d.feature), user: text(d.user), host: text(d.host),
    start: usage ? int(d.start) : null, end: usage ? int(d.end) : null, count: usage ? int(d.count) : null,
    record_json: r.record_json,
  };
}

/** A ContractDO storage step (storage-schema.ts): contracts that existed before the usage rollups
 * re-project their whole history once, through the ordinary drain, in bounded pages. */
export const REPROJECT_HISTORY_STEP = `
  INSERT INTO outbox (topic, collector_id, from_seq, to_seq) SELECT 'records', collector_id, 1, hwm FROM chains WHERE hwm > 0;`;
