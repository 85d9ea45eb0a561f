// The reconciler's last phase (reconcile.ts): D1's usage rollups must be the sum of D1's usage
// facts, and each session counted at its earliest fact. Checked one collector × 24 hours per
// page, straight from D1 (the DO is not involved: the facts themselves are compared with the DO in
// the records phase), and repaired in place by one revision-checked D1 batch (rollup-drain.ts),
// so a drain landing meanwhile makes the repair abort and the page run again rather than write a
// figure computed from a stale read.
import type { LocalHours } from "../../shared/time/local-hours.ts";
import { FACT_COLUMNS, isRevisionConflict, readRollups, revisionCheck, rollupValues, updateFirstMarks, writeRollups } from "./rollup-drain.ts";
import { addFacts, isZero, parseRollupKey, rollupKeyOf, startsBefore, type RollupFigures, type StoredFact } from "./usage-facts.ts";

export const WINDOW_MS = 24 * 3_600_000;

export interface WindowReport { checked: number; missing: number; different: number; extra: number; flags_fixed: number }
export type WindowOutcome = { ok: true; report: WindowReport } | { ok: false; conflict: true };

/** The first hour at or after `from` where the collector has rollups or facts (null: none). */
export async function nextHourWithData(d1: D1Database, hours: LocalHours, contractId: string, collectorId: string, from: number): Promise<number | null> {
  const [rollup, fact, spanning] = await d1.batch([
    d1.prepare("SELECT min(hour) AS at FROM usage_rollups WHERE contract_id = ? AND collector_id = ? AND hour >= ?").bind(contractId, collectorId, from),
    d1.prepare("SELECT min(start) AS at FROM usage_facts WHERE collector_id = ? AND contract_id = ? AND start >= ?").bind(collectorId, contractId, from),
    d1.prepare(`SELECT 1 AS at FROM usage_facts WHERE collector_id = ?1 AND contract_id = ?2 AND start >= ?3 - coalesce(
      (SELECT max_span_ms FROM projection_revs WHERE contract_id = ?2), 0) AND start < ?3 AND "end" > ?3 LIMIT 1`).bind(collectorId, contractId, from),
  ]);
  const at = (r: D1Result | undefined) => (r?.results[0] as { at: number | null } | undefined)?.at ?? null;
  const candidates = [at(rollup), at(fact) === null ? null : hours.hourStart(at(fact)!), at(spanning) === null ? null : from]
    .filter((t): t is number => t !== null);
  return candidates.length === 0 ? null : Math.min(...candidates);
}

/** Compares and repairs the collector's rollups of [start, start + WINDOW_MS). */
export async function checkWindow(d1: D1Database, hours: LocalHours, contractId: string, collectorId: string, start: number): Promise<WindowOutcome> {
  const end = start + WINDOW_MS;
  const [revRows, factRows, rollupRows] = await d1.batch([
    d1.prepare("SELECT rev, max_span_ms FROM projection_revs WHERE contract_id = ?").bind(contractId),
    d1.prepare(`SELECT ${FACT_COLUMNS} FROM usage_facts WHERE collector_id = ?1 AND contract_id = ?2
      AND start >= ?3 - coalesce((SELECT max_span_ms FROM projection_revs WHERE contract_id = ?2), 0) AND start < ?4
      AND ("end" > ?3 OR start >= ?3)`).bind(collectorId, contractId, start, end),
    d1.prepare(`SELECT hour, collector_id, feature, product, user, host FROM usage_rollups
      WHERE contract_id = ? AND collector_id = ? AND hour >= ? AND hour < ?`).bind(contractId, collectorId, start, end),
  ]);
  const rev = (revRows!.results[0] as { rev: number } | undefined)?.rev ?? 0;
  const facts = factRows!.results as StoredFact[];

  // Sessions are counted where they start: the facts starting in this window carry the marks.
  const own = facts.filter((f) => f.kind === "usage" && f.start >= start && f.session !== null);
  const earliest = await earliestOfSessions(d1, collectorId, [...new Set(own.map((f) => f.session!))]);
  const flagFixes: Array<[number, number]> = [];
  for (const f of own) {
    const e = earliest.get(f.session!);
    const want = e !== undefined && e.seq === f.seq ? 1 : 0;
    if (f.first !== want) { flagFixes.push([f.seq, want]); f.first = want; }
  }

  const expected = new Map<string, RollupFigures>();
  addFacts(expected, facts, hours, 1);
  for (const [key, figures] of expected) {
    const hour = parseRollupKey(key).hour;
    if (hour < start || hour >= end || isZero(figures)) expected.delete(key);
  }
  const present = new Set((rollupRows!.results as Array<Parameters<typeof rollupKeyOf>[0]>).map(rollupKeyOf));
  const actual = await readRollups(d1, contractId, [...present]);

  const report: WindowReport = { checked: 0, missing: 0, different: 0, extra: 0, flags_fixed: flagFixes.length };
  const upserts: unknown[][] = [];
  const deletes: unknown[][] = [];
  for (const [key, want] of expected) {
    report.checked++;
    const have = actual.get(key);
    if (have && have.license_s === want.license_s && have.units === want.units && have.sessions === want.sessions && have.denials === want.denials) continue;
    if (have) report.different++; else report.missing++;
    const k = parseRollupKey(key);
    upserts.push(rollupValues(k, hours.day(k.hour), want));
  }
  for (const key of present) {
    if (expected.has(key)) continue;
    report.checked++;
    report.extra++;
    const k = parseRollupKey(key);
    deletes.push([k.hour, k.collector_id, k.feature, k.product, k.user, k.host]);
  }
  if (upserts.length === 0 && deletes.length === 0 && flagFixes.length === 0) return { ok: true, report };
  try {
    await d1.batch([
      ...revisionCheck(d1, contractId, rev, 0),
      ...updateFirstMarks(d1, collectorId, flagFixes),
      ...writeRollups(d1, contractId, upserts, deletes),
    ]);
  } catch (error) {
    if (isRevisionConflict(error)) return { ok: false, conflict: true };
    throw error;
  }
  return { ok: true, report };
}

async function earliestOfSessions(d1: D1Database, collectorId: string, sessions: string[]): Promise<Map<string, StoredFact>> {
  const out = new Map<string, StoredFact>();
  if (sessions.length === 0) return out;
  const statements = [];
  for (let i = 0; i < sessions.length; i += 500) {
    statements.push(d1.prepare(
      `SELECT f.seq, f.session, f.start FROM json_each(?2) s CROSS JOIN usage_facts f ON f.collector_id = ?1 AND f.seq = (
         SELECT g.seq FROM usage_facts g WHERE g.collector_id = ?1 AND g.session = s.value ORDER BY g.start, g.seq LIMIT 1)`)
      .bind(collectorId, JSON.stringify(sessions.slice(i, i + 500))));
  }
  for (const result of await d1.batch(statements)) {
    for (const f of result.results as StoredFact[]) {
      const seen = out.get(f.session!);
      if (!seen || startsBefore(f, seen)) out.set(f.session!, f);
    }
  }
  return out;
}
