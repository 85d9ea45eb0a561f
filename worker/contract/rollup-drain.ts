// Keeps D1's usage history (usage_facts → usage_rollups) equal to the ContractDO, one bounded seq
// range at a time (DESIGN.md §7). `replaceFacts` makes D1's facts for a collector's seqs
// [from, to] equal to the DO's and moves every rollup row they touch by the difference — old facts
// out, new facts in, and the `first` mark of the sessions involved moved to each session's earliest
// interval — all in ONE D1 batch, which D1 runs as a transaction.
//
// Why it converges when a drain fails halfway or runs twice: the write is computed from a read of
// the facts and rollups it replaces, and its first statement checks that the contract's projection
// revision is still the one read (else the batch aborts and nothing is written). So a write lands
// exactly once against the state it was computed from; a retry re-reads, finds the facts already
// replaced and writes nothing. Units are decimal TEXT (exact numerators beyond 64 bits), so the
// arithmetic happens here in bigint, never in SQL.
import type { LocalHours } from "../../shared/time/local-hours.ts";
import {
  addFacts, isZero, parseRollupKey, rollupKeyOf, sameFact, startsBefore,
  type RollupFigures, type StoredFact, type UsageFact,
} from "./usage-facts.ts";

export interface ProjectionTarget { d1: D1Database; contractId: string; hours: LocalHours }

/** Bound JSON arrays per statement: well under D1's 1 MB per value, so any page fits. */
const MAX_JSON_BYTES = 256 * 1024;
/** Rollup rows hold at most 72 digits of units numerator: 8 limbs of 9 for `GET …/usage`. Rates are
 * below 10^12 (plan-schema.ts) and counts safe integers, so a row of any history fits: one interval
 * of a century at the largest count and rate is ~53 digits. (36 digits failed on a count of 9×10^15
 * at a rate of 1,000 — a signed record the edge receipted — and stopped the contract's drain.) */
export const MAX_UNITS_DIGITS = 72;

export const FACT_COLUMNS = `collector_id, seq, contract_id, kind, session, feature, product, user, host, start, "end", count, units_num, first, draws`;
// Every query that joins a JSON list of keys to a table names the list first with CROSS JOIN:
// SQLite keeps that order, so the table is searched by key instead of scanned per key.
const KEY_MATCH = `r.hour = json_extract(k.value, '$[0]') AND r.collector_id = json_extract(k.value, '$[1]') AND r.feature = json_extract(k.value, '$[2]')
  AND r.product = json_extract(k.value, '$[3]') AND r.user = json_extract(k.value, '$[4]') AND r.host = json_extract(k.value, '$[5]')`;

interface RollupRead { hour: number; collector_id: string; feature: string; product: string; user: string; host: string; license_s: number; units_num: string; sessions: number; denials: number; draws: number }

/** Makes D1's facts for the collector's seqs [from, to] equal `next`; returns whether it wrote. */
export async function replaceFacts(t: ProjectionTarget, collectorId: string, from: number, to: number, next: UsageFact[]): Promise<boolean> {
  const { d1, contractId, hours } = t;
  const [revRows, oldRows] = await d1.batch([
    d1.prepare("SELECT rev FROM projection_revs WHERE contract_id = ?").bind(contractId),
    d1.prepare(`SELECT ${FACT_COLUMNS} FROM usage_facts WHERE collector_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`).bind(collectorId, from, to),
  ]);
  const rev = (revRows!.results[0] as { rev: number } | undefined)?.rev ?? 0;
  const oldAll = oldRows!.results as Array<StoredFact & { contract_id: string }>;
  // A row filed under another contract (damage) leaves without touching this contract's rollups.
  const old = oldAll.filter((f) => f.contract_id === contractId);

  const fresh: StoredFact[] = next.map((f) => ({ ...f, first: 0 }));
  const sessions = new Set<string>();
  for (const f of [...old, ...fresh]) if (f.kind === "usage" && f.session !== null) sessions.add(f.session);
  const outside = await earliestOutside(d1, collectorId, from, to, [...sessions]);

  // Each session is counted at its earliest interval, inside this range or outside it (the range's
  // earliest per session found in one pass: a page can hold a thousand sessions).
  const earliestFresh = new Map<string, StoredFact>();
  for (const f of fresh) {
    if (f.kind !== "usage" || f.session === null) continue;
    const best = earliestFresh.get(f.session);
    if (!best || startsBefore(f, best)) earliestFresh.set(f.session, f);
  }
  const flagChanges: Array<{ fact: StoredFact; first: number }> = [];
  for (const session of sessions) {
    const o = outside.get(session);
    const inside = earliestFresh.get(session);
    const winner = o && (!inside || !startsBefore(inside, o)) ? o : inside;
    if (winner && winner !== o) winner.first = 1;
    if (o && o.first !== (winner === o ? 1 : 0)) flagChanges.push({ fact: o, first: winner === o ? 1 : 0 });
  }
  const unchanged = oldAll.length === fresh.length && old.length === oldAll.length && flagChanges.length === 0
    && fresh.every((f, i) => sameFact(f, oldAll[i]!) && f.first === oldAll[i]!.first);
  if (unchanged) return false;

  const delta = new Map<string, RollupFigures>();
  addFacts(delta, old, hours, -1);
  addFacts(delta, fresh, hours, 1);
  for (const c of flagChanges) {
    addFacts(delta, [c.fact], hours, -1);
    addFacts(delta, [{ ...c.fact, first: c.first }], hours, 1);
  }
  for (const [key, d] of delta) if (isZero(d)) delta.delete(key);
  const current = await readRollups(d1, contractId, [...delta.keys()]);

  const upserts: unknown[][] = [];
  const deletes: unknown[][] = [];
  for (const [key, d] of delta) {
    const was = current.get(key) ?? { license_s: 0, units: 0n, sessions: 0, denials: 0, draws: 0 };
    const now = { license_s: was.license_s + d.license_s, units: was.units + d.units, sessions: was.sessions + d.sessions, denials: was.denials + d.denials, draws: was.draws + d.draws };
    if (now.license_s < 0 || now.units < 0n || now.sessions < 0 || now.denials < 0 || now.draws < 0) {
      // Only a damaged D1 gets here (rollups that were not the sum of their facts); the
      // reconciler rewrites the row from the facts. Never store a negative figure.
      console.warn(`usage rollup ${key} of ${contractId} would go negative; clamped, reconcile to repair`);
    }
    const row = { license_s: Math.max(0, now.license_s), units: now.units < 0n ? 0n : now.units, sessions: Math.max(0, now.sessions), denials: Math.max(0, now.denials), draws: Math.max(0, now.draws) };
    const k = parseRollupKey(key);
    if (isZero(row)) deletes.push([k.hour, k.collector_id, k.feature, k.product, k.user, k.host]);
    else upserts.push(rollupValues(k, hours.day(k.hour), row));
  }

  const maxSpan = fresh.reduce((m, f) => Math.max(m, f.end - f.start), 0);
  await d1.batch([
    ...revisionCheck(d1, contractId, rev, maxSpan),
    d1.prepare("DELETE FROM usage_facts WHERE collector_id = ? AND seq BETWEEN ? AND ?").bind(collectorId, from, to),
    ...insertFacts(d1, contractId, fresh),
    ...updateFirstMarks(d1, collectorId, flagChanges.map((c) => [c.fact.seq, c.first])),
    ...writeRollups(d1, contractId, upserts, deletes),
  ]);
  return true;
}

/** The batch's first statements: abort unless the projection revision is still `rev`; bump it. */
export function revisionCheck(d1: D1Database, contractId: string, rev: number, maxSpanMs: number): D1PreparedStatement[] {
  return [
    d1.prepare(`INSERT INTO projection_guard (revision_changed) SELECT NULL
      WHERE coalesce((SELECT rev FROM projection_revs WHERE contract_id = ?1), 0) <> ?2`).bind(contractId, rev),
    d1.prepare(`INSERT INTO projection_revs (contract_id, rev, max_span_ms) VALUES (?1, ?2 + 1, ?3)
      ON CONFLICT (contract_id) DO UPDATE SET rev = excluded.rev, max_span_ms = max(projection_revs.max_span_ms, excluded.max_span_ms)`).bind(contractId, rev, maxSpanMs),
  ];
}

/** A write batch aborted by its revision check: another write landed since the read. */
export function isRevisionConflict(error: unknown): boolean {
  return String(error).includes("projection_guard");
}

/** Sets the `first` mark of the collector's facts, given as [seq, 0 | 1] pairs. */
export function updateFirstMarks(d1: D1Database, collectorId: string, marks: Array<[number, number]>): D1PreparedStatement[] {
  return jsonChunks(marks).map((json) => d1.prepare(
    `UPDATE usage_facts SET first = (SELECT json_extract(j.value, '$[1]') FROM json_each(?2) j WHERE json_extract(j.value, '$[0]') = usage_facts.seq)
     WHERE collector_id = ?1 AND seq IN (SELECT json_extract(value, '$[0]') FROM json_each(?2))`).bind(collectorId, json));
}

export function insertFacts(d1: D1Database, contractId: string, facts: StoredFact[]): D1PreparedStatement[] {
  const rows = facts.map((f) => [f.collector_id, f.seq, f.kind, f.session, f.feature, f.product, f.user, f.host, f.start, f.end, f.count, f.units_num, f.first, f.draws]);
  return jsonChunks(rows).map((json) => d1.prepare(
    `INSERT INTO usage_facts (${FACT_COLUMNS})
     SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?1, json_extract(value, '$[2]'), json_extract(value, '$[3]'),
       json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'),
       json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]'),
       json_extract(value, '$[12]'), json_extract(value, '$[13]')
     FROM json_each(?2)`).bind(contractId, json));
}

export function rollupValues(k: { hour: number; collector_id: string; feature: string; product: string; user: string; host: string }, day: string, f: RollupFigures): unknown[] {
  const units = f.units.toString();
  if (units.length > MAX_UNITS_DIGITS) throw new RangeError(`a rollup row's units numerator has ${units.length} digits (at most ${MAX_UNITS_DIGITS})`);
  return [k.hour, k.collector_id, k.feature, k.product, k.user, k.host, day, f.license_s, units, f.sessions, f.denials, f.draws];
}

/** Upserts (rows from rollupValues) and deletes (keys as arrays) of a contract's rollup rows. */
export function writeRollups(d1: D1Database, contractId: string, upserts: unknown[][], deletes: unknown[][]): D1PreparedStatement[] {
  return [
    ...jsonChunks(upserts).map((json) => d1.prepare(
      `INSERT INTO usage_rollups (contract_id, hour, collector_id, feature, product, user, host, day, license_s, units_num, sessions, denials, draws)
       SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
         json_extract(value, '$[4]'), json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'),
         json_extract(value, '$[8]'), json_extract(value, '$[9]'), json_extract(value, '$[10]'), json_extract(value, '$[11]')
       FROM json_each(?2) WHERE true
       ON CONFLICT (contract_id, hour, collector_id, feature, product, user, host) DO UPDATE SET
         day = excluded.day, license_s = excluded.license_s, units_num = excluded.units_num, sessions = excluded.sessions, denials = excluded.denials,
         draws = excluded.draws`)
      .bind(contractId, json)),
    ...jsonChunks(deletes).map((json) => d1.prepare(
      `DELETE FROM usage_rollups WHERE contract_id = ?1 AND (hour, collector_id, feature, product, user, host) IN
         (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                 json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]') FROM json_each(?2))`)
      .bind(contractId, json)),
  ];
}

/** The current rollup rows of the given keys (rollupKeyOf), in one consistent read. */
export async function readRollups(d1: D1Database, contractId: string, keys: string[]): Promise<Map<string, RollupFigures>> {
  const out = new Map<string, RollupFigures>();
  if (keys.length === 0) return out;
  const statements = jsonChunks(keys.map((k) => JSON.parse(k) as unknown[])).map((json) => d1.prepare(
    `SELECT r.hour, r.collector_id, r.feature, r.product, r.user, r.host, r.license_s, r.units_num, r.sessions, r.denials, r.draws
     FROM json_each(?2) k CROSS JOIN usage_rollups r ON r.contract_id = ?1 AND ${KEY_MATCH}`).bind(contractId, json));
  for (const result of await d1.batch(statements)) {
    for (const r of result.results as RollupRead[]) {
      out.set(rollupKeyOf(r), { license_s: r.license_s, units: BigInt(r.units_num), sessions: r.sessions, denials: r.denials, draws: r.draws });
    }
  }
  return out;
}

/** Per session: its earliest interval outside seqs [from, to], if any (index usage_facts_session). */
async function earliestOutside(d1: D1Database, collectorId: string, from: number, to: number, sessions: string[]): Promise<Map<string, StoredFact>> {
  const out = new Map<string, StoredFact>();
  if (sessions.length === 0) return out;
  const statements = jsonChunks(sessions.map((s) => [s])).map((json) => d1.prepare(
    `SELECT ${FACT_COLUMNS.split(", ").map((c) => `f.${c}`).join(", ")} FROM json_each(?2) s CROSS JOIN usage_facts f ON f.collector_id = ?1 AND f.seq = (
       SELECT g.seq FROM usage_facts g WHERE g.collector_id = ?1 AND g.session = json_extract(s.value, '$[0]') AND (g.seq < ?3 OR g.seq > ?4)
       ORDER BY g.start, g.seq LIMIT 1)`).bind(collectorId, json, from, to));
  for (const result of await d1.batch(statements)) for (const f of result.results as StoredFact[]) out.set(f.session!, f);
  return out;
}

/** Rows as JSON arrays, cut so that no bound value exceeds MAX_JSON_BYTES. */
export function jsonChunks(rows: unknown[][]): string[] {
  const chunks: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    if (parts.length > 0 && size + text.length + 1 > MAX_JSON_BYTES) { chunks.push(`[${parts.join(",")}]`); parts = []; size = 2; }
    parts.push(text);
    size += text.length + 1;
  }
  if (parts.length > 0) chunks.push(`[${parts.join(",")}]`);
  return chunks;
}
