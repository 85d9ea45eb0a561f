// Test helpers for the D1 projection: drain a contract's outbox to the end through the real alarm,
// and assert that D1 holds exactly what the DO implies — records (every column), usage facts, the
// hourly usage rollups and the collectors' sync columns. The expected facts and rollups are
// recomputed here from the DO's records and rated units, independently of the drain's code
// (worker/contract/usage-facts.ts, rollup-drain.ts): hours from the wall clock's minutes and
// seconds, sessions counted at their earliest interval by a plain sort.
import { expect } from "vitest";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { wallTimeAt } from "../../shared/time/zoned.ts";
import { intervalDraws, intervalUnits } from "../../worker/contract/units-projection.ts";
import { call, contractStub, ADMIN_TOKEN, ok } from "./edge-fixture.ts";

const HOUR = 3_600_000;

export async function outboxLength(contractId: string): Promise<number> {
  return runInDurableObject(contractStub(contractId), (_i, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
}

/** Runs the alarm until the outbox is empty; returns how many runs it took. */
export async function drainAll(contractId: string): Promise<number> {
  let runs = 0;
  while (await outboxLength(contractId) > 0) {
    if (runs++ > 200) throw new Error("outbox never drained");
    // false: no alarm armed — fine only if the runtime's own alarm emptied the outbox meanwhile.
    if (!await runDurableObjectAlarm(contractStub(contractId)) && await outboxLength(contractId) > 0) throw new Error("outbox has rows but no alarm is armed");
  }
  return runs;
}

/** One reconcile page. */
export async function reconcile(contractId: string, query = ""): Promise<any> {
  return ok(await call("POST", `/v1/admin/contracts/${contractId}/reconcile${query}`, { token: ADMIN_TOKEN }));
}

/** Every page of a reconcile walk, in order. */
export async function reconcileAll(contractId: string, limit?: number): Promise<any[]> {
  const pages: any[] = [];
  let cursor: string | null = null;
  do {
    const params = new URLSearchParams();
    if (cursor) params.set("cursor", cursor);
    if (limit) params.set("limit", String(limit));
    const page: any = await reconcile(contractId, params.size > 0 ? `?${params}` : "");
    pages.push(page);
    cursor = page.next_cursor;
    if (pages.length > 10_000) throw new Error("reconcile never ended");
  } while (cursor);
  return pages;
}

/** Sums of a reconcile walk's differences. */
export function walkTotals(pages: any[]): Record<string, number> {
  const sum = (k: string) => pages.reduce((n, p) => n + p[k], 0);
  return { checked: sum("checked"), missing: sum("missing"), different: sum("different"), extra: sum("extra"), repaired: sum("repaired"), unrepairable: sum("unrepairable"), enqueued: sum("enqueued") };
}

interface Fact { collector_id: string; seq: number; kind: string; session: string | null; feature: string; product: string; user: string; host: string; start: number; end: number; count: number; units_num: string; first: number; draws: number }

/** The local hour containing t: back by the wall clock's minutes and seconds. */
function hourOf(t: number, zone: string): number {
  const w = wallTimeAt(t, zone);
  return t - (w.minute * 60 + w.second) * 1000 - (t % 1000);
}

function dayOf(t: number, zone: string): string {
  const w = wallTimeAt(t, zone);
  return `${w.year}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
}

/** The rollup rows `facts` add up to, sorted like the D1 query below. */
export function expectedRollups(contractId: string, facts: Fact[], zone: string): any[] {
  const rows = new Map<string, any>();
  const at = (f: Fact, hour: number) => {
    const key = JSON.stringify([hour, f.collector_id, f.feature, f.product, f.user, f.host]);
    let r = rows.get(key);
    if (!r) {
      r = { contract_id: contractId, hour, collector_id: f.collector_id, feature: f.feature, product: f.product, user: f.user, host: f.host, day: dayOf(hour, zone), license_s: 0, units: 0n, sessions: 0, denials: 0, draws: 0 };
      rows.set(key, r);
    }
    return r;
  };
  for (const f of facts) {
    if (f.kind === "denial") { at(f, hourOf(f.start, zone)).denials++; continue; }
    const r = at(f, hourOf(f.start, zone));
    r.units += BigInt(f.units_num);
    r.sessions += f.first;
    r.draws += f.draws;
    for (let a = f.start; a < f.end;) {
      const h = hourOf(a, zone);
      const b = Math.min(f.end, h + HOUR);
      at(f, h).license_s += ((b - a) / 1000) * f.count;
      a = b;
    }
  }
  return [...rows.values()].filter((r) => r.license_s !== 0 || r.units !== 0n || r.sessions !== 0 || r.denials !== 0 || r.draws !== 0)
    .map(({ units, ...r }) => ({ ...r, units_num: units.toString() }))
    .sort((x, y) => (x.hour - y.hour) || cmp(x.collector_id, y.collector_id) || cmp(x.feature, y.feature) || cmp(x.product, y.product) || cmp(x.user, y.user) || cmp(x.host, y.host));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The D1 rows of the contract, sorted, and the same rows as the DO says they must be. */
export async function projections(contractId: string) {
  const want = await runInDurableObject(contractStub(contractId), (_i, state) => {
    const sql = state.storage.sql;
    const records = sql.exec("SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine FROM records ORDER BY collector_id, seq").toArray();
    const zone = (JSON.parse(sql.exec<{ terms_json: string }>("SELECT terms_json FROM contract").one().terms_json) as { timezone: string }).timezone;
    const facts: Fact[] = [];
    const unitsBy = new Map<string, Map<number, bigint>>();
    const drawsBy = new Map<string, Map<number, number>>();
    for (const r of records as any[]) {
      if (r.quarantine !== null || (r.kind !== "usage" && r.kind !== "denial")) continue;
      const d = JSON.parse(r.record_json).data;
      const text = (v: unknown) => (typeof v === "string" ? v : "");
      const base = { collector_id: r.collector_id, seq: r.seq, feature: d.feature, product: text(d.product), user: d.user, host: d.host, first: 0 };
      if (r.kind === "denial") { facts.push({ ...base, kind: "denial", session: null, start: d.at, end: d.at, count: 0, units_num: "0", draws: 0 }); continue; }
      let units = unitsBy.get(r.collector_id);
      if (!units) { units = intervalUnits(sql, r.collector_id, 1, Number.MAX_SAFE_INTEGER); unitsBy.set(r.collector_id, units); }
      let draws = drawsBy.get(r.collector_id);
      if (!draws) { draws = intervalDraws(sql, r.collector_id, 1, Number.MAX_SAFE_INTEGER); drawsBy.set(r.collector_id, draws); }
      facts.push({ ...base, kind: "usage", session: d.session, start: d.start, end: d.end, count: d.count, units_num: (units.get(r.seq) ?? 0n).toString(), draws: draws.get(r.seq) ?? 0 });
    }
    const earliest = new Map<string, Fact>();
    for (const f of facts) {
      if (f.kind !== "usage") continue;
      const key = `${f.collector_id}\n${f.session}`;
      const e = earliest.get(key);
      if (!e || f.start < e.start || (f.start === e.start && f.seq < e.seq)) earliest.set(key, f);
    }
    for (const f of earliest.values()) f.first = 1;
    const chains = sql.exec("SELECT collector_id AS id, hwm, last_sync, flags_json FROM chains ORDER BY collector_id").toArray();
    return { records, facts, rollups: expectedRollups("", facts, zone), chains };
  });
  const d1 = async (q: string) => (await env.DB.prepare(q).bind(contractId).all()).results;
  const have = {
    records: await d1("SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine, contract_id FROM records WHERE contract_id = ?1 OR collector_id IN (SELECT id FROM collectors WHERE contract_id = ?1) ORDER BY collector_id, seq"),
    facts: await d1(`SELECT collector_id, seq, kind, session, feature, product, user, host, start, "end", count, units_num, first, draws, contract_id FROM usage_facts
      WHERE contract_id = ?1 OR collector_id IN (SELECT id FROM collectors WHERE contract_id = ?1) ORDER BY collector_id, seq`),
    rollups: await d1("SELECT * FROM usage_rollups WHERE contract_id = ? ORDER BY hour, collector_id, feature, product, user, host"),
    collectors: await d1("SELECT id, hwm, last_sync, flags_json FROM collectors WHERE contract_id = ? ORDER BY id"),
  };
  return { want: { ...want, rollups: want.rollups.map((r) => ({ ...r, contract_id: contractId })) }, have };
}

/** D1 equals the DO exactly (full row sets, rollups included), and nothing is left to drain. */
export async function expectD1EqualsDO(contractId: string): Promise<void> {
  const { want, have } = await projections(contractId);
  expect(have.records).toEqual(want.records.map((r) => ({ ...r, contract_id: contractId })));
  expect(have.facts).toEqual(want.facts.map((f) => ({ ...f, contract_id: contractId })));
  expect(have.rollups).toEqual(want.rollups);
  expect(have.collectors).toEqual(want.chains);
  expect(await outboxLength(contractId)).toBe(0);
  await expectCoarseRollups(contractId);
}

/** usage_days and usage_months hold exactly the hourly rows summed per local day and month (units
 * compared as the numbers their limb sums make), with `hours` counting the rows behind each. */
export async function expectCoarseRollups(contractId: string): Promise<void> {
  const hourly = (await env.DB.prepare("SELECT * FROM usage_rollups WHERE contract_id = ?").bind(contractId).all<any>()).results;
  for (const [table, column, period] of [["usage_days", "day", (d: string) => d], ["usage_months", "month", (d: string) => d.slice(0, 7)]] as const) {
    const want = new Map<string, any>();
    for (const r of hourly) {
      const key = JSON.stringify([period(r.day), r.collector_id, r.feature, r.product, r.user, r.host]);
      const g = want.get(key) ?? { license_s: 0, units: 0n, sessions: 0, denials: 0, draws: 0, hours: 0 };
      want.set(key, { license_s: g.license_s + r.license_s, units: g.units + BigInt(r.units_num), sessions: g.sessions + r.sessions, denials: g.denials + r.denials, draws: g.draws + r.draws, hours: g.hours + 1 });
    }
    const have = new Map<string, any>();
    for (const r of (await env.DB.prepare(`SELECT * FROM ${table} WHERE contract_id = ?`).bind(contractId).all<any>()).results) {
      let units = 0n;
      for (let i = 7; i >= 0; i--) units = units * 10n ** 9n + BigInt(r[`u${i}`]);
      have.set(JSON.stringify([r[column], r.collector_id, r.feature, r.product, r.user, r.host]), { license_s: r.license_s, units, sessions: r.sessions, denials: r.denials, draws: r.draws, hours: r.hours });
    }
    expect(Object.fromEntries(have), table).toEqual(Object.fromEntries(want));
  }
}
