// GET …/usage over long histories (usage-report.ts, usage-spans.ts, migration 0007): whole local
// months and days come from usage_months and usage_days, kept equal to the hourly rollups by SQL
// triggers, and only the ragged hours at the ends from usage_rollups. Every answer must be exactly
// the hourly-only one (the query the route ran before, kept here as the oracle), for any range,
// grouping and page size — DST days (23 and 25 hours in Europe/Madrid) and ranges off day edges
// included — and a page must read rows in proportion to the range's days and months, not its hours.
import { describe, it, expect } from "vitest";
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { LocalHours } from "../../shared/time/local-hours.ts";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";
import { formatUnits } from "../../shared/pricing/index.ts";
import { jsonChunks } from "../../worker/contract/rollup-drain.ts";
import { usagePage, type UsageDimension, type UsageRow } from "../../worker/usage-report.ts";
import { usageSpans } from "../../worker/usage-spans.ts";
import { backfillCoarse, backfillFrom } from "../../worker/usage-coarse-backfill.ts";
import { appendUsage, planOf, PRICE, pricedContract, send } from "./pricing-fixture.ts";
import { drainAll, expectCoarseRollups, expectD1EqualsDO } from "./projection-check.ts";
import { call, contractStub, HOUR, ok } from "./edge-fixture.ts";
import { between, pick, runSeed, seededRandom, type Random } from "./reliability/budget.ts";

const DIMS: UsageDimension[] = ["feature", "product", "user", "host", "collector", "day"];
const COLUMN: Record<string, string> = { collector: "collector_id" };

/** The hourly-only answer: the route's query before the coarse tables, every row of [from, to). */
async function hourlyOnly(contractId: string, from: number, to: number, groupBy: UsageDimension[]): Promise<{ items: UsageRow[]; rowsRead: number }> {
  const dims = groupBy.map((d) => `"${COLUMN[d] ?? d}"`);
  const limbs = Array.from({ length: 8 }, (_, i) => `SUM(CAST(substr(units_num, ${-9 * (i + 1)}, 9) AS INTEGER)) AS u${i}`);
  const answer = await env.DB.prepare(`SELECT ${[...dims, "SUM(license_s) AS license_s", ...limbs, "SUM(draws) AS draws", "SUM(sessions) AS sessions", "SUM(denials) AS denials", "count(*) AS n"].join(", ")}
    FROM usage_rollups WHERE contract_id = ?1 AND hour >= ?2 AND hour < ?3 ${dims.length > 0 ? `GROUP BY ${dims.join(", ")} ORDER BY ${dims.join(", ")}` : ""}`)
    .bind(contractId, from, to).all<any>();
  const items = answer.results.filter((r) => r.n > 0).map((r): UsageRow => {
    const row: UsageRow = { license_seconds: 0, units: "0", draws: 0, sessions: 0, denials: 0 };
    for (const d of groupBy) row[d] = d === "product" && r[COLUMN[d] ?? d] === "" ? null : r[COLUMN[d] ?? d];
    let units = 0n;
    for (let i = 7; i >= 0; i--) units = units * 10n ** 9n + BigInt(r[`u${i}`] ?? 0);
    return { ...row, license_seconds: r.license_s, units: formatUnits(units), draws: r.draws, sessions: r.sessions, denials: r.denials };
  });
  return { items, rowsRead: answer.meta.rows_read };
}

/** Every page of usagePage, following its cursor; rows read summed and per page. */
async function paged(contractId: string, hours: LocalHours, from: number, to: number, groupBy: UsageDimension[], limit: number) {
  const items: UsageRow[] = [];
  const reads: number[] = [];
  let after: string[] | undefined;
  do {
    const page = await usagePage(env.DB, { contractId, hours, from, to, groupBy, limit, after });
    items.push(...page.items);
    reads.push(page.rowsRead);
    after = page.next ?? undefined;
  } while (after);
  return { items, reads };
}

/** Seeds hourly rollup rows straight into D1 (the triggers fill the coarse tables): `combos` a sparse
 * random subset per local hour of [from, to), with units numerators up to 40 digits (all 8 limbs' range). */
async function seedHours(random: Random, contractId: string, hours: LocalHours, from: number, to: number): Promise<number> {
  const rows: unknown[][] = [];
  for (let h = from; h < to; h += HOUR) {
    for (const feature of ["MATLAB", "POOL"]) for (const user of ["ada", "bob"]) {
      if (random() < 0.4) continue;
      const units = `${between(random, 1, 999_999)}${String(between(random, 0, 10 ** 9 - 1)).padStart(9, "0").repeat(between(random, 0, 3))}`;
      rows.push([h, pick(random, ["col_a", "col_b"]), feature, feature === "POOL" ? "NASTRAN" : "", user, "ws-1", hours.day(h), between(random, 0, 3600), units, between(random, 0, 2), between(random, 0, 1), between(random, 0, 2)]);
    }
  }
  // One key per (hour, collector, feature, product, user, host): duplicates of a random collector drop out.
  const seen = new Set<string>();
  const unique = rows.filter((r) => { const k = JSON.stringify(r.slice(0, 6)); if (seen.has(k)) return false; seen.add(k); return true; });
  for (const json of jsonChunks(unique)) {
    await env.DB.prepare(`INSERT INTO usage_rollups (contract_id, hour, collector_id, feature, product, user, host, day, license_s, units_num, sessions, denials, draws)
      SELECT ?1, json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]'),
        json_extract(value, '$[5]'), json_extract(value, '$[6]'), json_extract(value, '$[7]'), json_extract(value, '$[8]'), json_extract(value, '$[9]'),
        json_extract(value, '$[10]'), json_extract(value, '$[11]') FROM json_each(?2)`).bind(contractId, json).run();
  }
  return unique.length;
}

const madrid = new LocalHours("Europe/Madrid");
const local = (y: number, m: number, d: number, h = 0) => wallTimeToUtc({ year: y, month: m, day: d, hour: h, minute: 0, second: 0 }, "Europe/Madrid");
/** Two years of history in Madrid's zone: 2025-01-01 to 2027-01-01 local, four DST changes inside. */
const START = local(2025, 1, 1), END = local(2027, 1, 1);

/** A random local hour start within a day or two of [START, END). */
function randomHour(random: Random): number {
  return madrid.hourStart(START - 2 * 24 * HOUR + between(random, 0, (END - START) / HOUR + 4 * 24) * HOUR);
}

describe("usage history over years reads days and months, not hours", () => {
  it("splits ranges at local days and months, DST days included (23 and 25 hours in Madrid)", () => {
    // 2026-03-28 22:00 local to 2026-10-26 05:00: hours to midnight, days to April, months April–September, days of October to the 26th, then 5 hours.
    expect(usageSpans(madrid, local(2026, 3, 28, 22), local(2026, 10, 26, 5), false)).toEqual({
      hours: [[local(2026, 3, 28, 22), local(2026, 3, 29)], [local(2026, 10, 26), local(2026, 10, 26, 5)]],
      days: [["2026-03-29", "2026-04-01"], ["2026-10-01", "2026-10-26"]], months: [["2026-04", "2026-10"]],
    });
    // The spring-forward day (23 hours) alone is one whole day; grouped per day, no months.
    expect(usageSpans(madrid, local(2026, 3, 29), local(2026, 3, 30), false)).toEqual({ hours: [], days: [["2026-03-29", "2026-03-30"]], months: [] });
    expect(local(2026, 3, 30) - local(2026, 3, 29)).toBe(23 * HOUR);
    expect(usageSpans(madrid, local(2026, 1, 1), local(2026, 3, 1), true)).toEqual({ hours: [], days: [["2026-01-01", "2026-03-01"]], months: [] });
    // Within one day, or across one midnight without a whole day: hours only.
    expect(usageSpans(madrid, local(2026, 10, 25, 1), local(2026, 10, 26, 3), false)).toEqual({ hours: [[local(2026, 10, 25, 1), local(2026, 10, 26, 3)]], days: [], months: [] });
  });

  it("covers each local hour of a range exactly once and nothing outside it, in zones with odd DST (Lord Howe's 30 min, Santiago's and Havana's at midnight, Chatham's :45)", () => {
    const random = seededRandom(5);
    for (const zone of ["Australia/Lord_Howe", "America/Santiago", "America/Havana", "Pacific/Chatham", "Europe/Madrid"]) {
      const hours = new LocalHours(zone);
      for (let i = 0; i < 60; i++) {
        const from = hours.hourStart(Date.UTC(2025, 0, 1) + between(random, 0, 800 * 24) * HOUR);
        const to = hours.hourStart(from + between(random, 1, i % 2 ? 80 * 24 : 60) * HOUR);
        for (const byDay of [false, true]) {
          const s = usageSpans(hours, from, to, byDay);
          const starts = new Set<number>();
          for (let t = from; t < to; t += 900_000) starts.add(hours.hourStart(t));
          for (const h of starts) {
            const d = hours.day(h);
            const covered = s.hours.filter(([a, b]) => h >= a && h < b).length + s.days.filter(([a, b]) => d >= a && d < b).length
              + s.months.filter(([a, b]) => d.slice(0, 7) >= a && d.slice(0, 7) < b).length;
            expect(covered, `${zone} ${new Date(h).toISOString()} in ${JSON.stringify(s)}`).toBe(1);
          }
          const before = hours.day(hours.hourStart(from - 1)), after = hours.day(to);
          for (const [a, b] of s.days) expect(a > before && b <= after).toBe(true);
          for (const [a, b] of s.months) expect(a > before.slice(0, 7) && b <= after.slice(0, 7)).toBe(true);
        }
      }
    }
  });

  it("any range, grouping and page size answers exactly the hourly-only query over two years of history (seeded)", { timeout: 300_000 }, async () => {
    const random = seededRandom(runSeed("usage-coarse"));
    const id = "ctr_coarse_random";
    const seeded = await seedHours(random, id, madrid, START, END);
    await expectCoarseRollups(id);
    const dst = [local(2025, 3, 30), local(2025, 10, 26), local(2026, 3, 29), local(2026, 10, 25)];
    for (let i = 0; i < 30; i++) {
      // A third of the ranges start or end on a DST day's hours; the rest anywhere, off day edges mostly.
      let a = randomHour(random), b = randomHour(random);
      if (i % 3 === 0) a = madrid.hourStart(pick(random, dst) + between(random, -30, 30) * HOUR);
      if (a === b) b = a + HOUR;
      const [from, to] = a < b ? [a, b] : [b, a];
      const groupBy = DIMS.filter(() => random() < 0.3);
      // Small pages only for short answers: every page aggregates the range again (a note in usage-report.ts).
      const limit = groupBy.includes("day") ? 1000 : pick(random, [1, 7, 100]);
      const want = await hourlyOnly(id, from, to, groupBy);
      const have = await paged(id, madrid, from, to, groupBy, limit);
      expect(have.items, `[${new Date(from).toISOString()}, ${new Date(to).toISOString()}) by ${groupBy.join(",")} limit ${limit}`).toEqual(want.items);
    }
    expect(seeded).toBeGreaterThan(30_000);
  });

  it("two years grouped by feature: 1,443 rows read a page instead of 83,421 (hourly-only); one total: 724 — bounded by the months and the days and hours at the ends", { timeout: 300_000 }, async () => {
    const random = seededRandom(7);
    const id = "ctr_coarse_cost";
    const seeded = await seedHours(random, id, madrid, START, END);
    // 2025-01-03 05:00 to 2026-12-30 19:00 local: 19 + 19 edge hours, 29 + 29 edge days, 22 whole months.
    const from = local(2025, 1, 3, 5), to = local(2026, 12, 30, 19);
    const spans = usageSpans(madrid, from, to, false);
    expect(spans).toEqual({ hours: [[from, local(2025, 1, 4)], [local(2026, 12, 30), to]], days: [["2025-01-04", "2025-02-01"], ["2026-12-01", "2026-12-30"]], months: [["2025-02", "2026-12"]] });
    const pieces = 19 + 19 + 28 + 29 + 22;
    // Each piece holds at most 8 combinations (2 collectors × 2 features × 2 users): rows read
    // stay under 8 per piece, plus the aggregate's own work per group, whatever the years.
    const byFeature = await paged(id, madrid, from, to, ["feature"], 1);
    const before = await hourlyOnly(id, from, to, ["feature"]);
    expect(byFeature.items).toEqual(before.items);
    console.log(`[rows read] ${seeded} hourly rows; by feature: ${byFeature.reads.join(" + ")} per page (limit 1), hourly-only ${before.rowsRead}`);
    for (const read of byFeature.reads) expect(read).toBeLessThanOrEqual(2 * 8 * pieces + 10);
    expect(before.rowsRead).toBeGreaterThan(20 * byFeature.reads[0]!);
    const total = await paged(id, madrid, from, to, [], 100);
    expect(total.items).toEqual((await hourlyOnly(id, from, to, [])).items);
    console.log(`[rows read] one total: ${total.reads[0]}`);
    expect(total.reads[0]).toBeLessThanOrEqual(8 * pieces + 10);
  });

  it("through the real ingest path (Berlin, across the autumn DST day): coarse rollups follow the drain and a re-rating, answers equal the hourly ones", { timeout: 120_000 }, async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }), { start: "2026-10-01", sites: 2 });
    const berlin = new LocalHours("Europe/Berlin");
    const random = seededRandom(11);
    for (let i = 0; i < 60; i++) {
      const start = Date.UTC(2026, 9, 20) + between(random, 0, 36 * 24) * HOUR + between(random, 0, 59) * 60_000;
      appendUsage(pick(random, c.sites), { session: `s${i}`, feature: pick(random, ["MATLAB", "Simulink"]), user: pick(random, ["ada", "bob"]), start, end: start + between(random, 1, 40) * 600_000 });
    }
    for (const site of c.sites) await send(c, site);
    await drainAll(c.id);
    await expectD1EqualsDO(c.id);
    const check = async () => {
      for (let i = 0; i < 15; i++) {
        const a = berlin.hourStart(Date.UTC(2026, 9, 19) + between(random, 0, 40 * 24) * HOUR), b = berlin.hourStart(a + between(random, 1, 30 * 24) * HOUR);
        const groupBy = DIMS.filter(() => random() < 0.3);
        const page = await ok(await call("GET", `/v1/contracts/${c.id}/usage?from=${new Date(a).toISOString()}&to=${new Date(b).toISOString()}&limit=1000${groupBy.length ? `&group_by=${groupBy.join(",")}` : ""}`, { token: c.vendor.api_key }));
        expect(page.items).toEqual((await hourlyOnly(c.id, a, b, groupBy)).items);
      }
    };
    await check();
    // A plan change from November on (October's statement is closed) re-rates November's intervals: the hourly rows' units move, the coarse ones with them.
    const total = async () => (await hourlyOnly(c.id, START, END + 365 * 24 * HOUR, [])).items[0]!.units;
    const was = await total();
    const put = await call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, body: { plan: planOf("pay_per_use", { price: PRICE, rates: { MATLAB: "3", "*": "2" } }), effective_at: "2026-10-31T23:00:00Z" } });
    expect([200, 202]).toContain(put.status);
    for (let i = 0; i < 50 && (await total()) === was; i++) { await runDurableObjectAlarm(contractStub(c.id)); await drainAll(c.id); }
    expect(await total()).not.toBe(was);
    await drainAll(c.id);
    await expectD1EqualsDO(c.id);
    await check();
  });
});

describe("migration 0007 on a D1 with hourly history: the older history is summed in pages", () => {
  /** Back to 0006's shape, with `seed` hourly rows in it, then 0007 as shipped. */
  async function migrateWith(seed: () => Promise<unknown>): Promise<void> {
    const m7 = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0007"))!;
    await env.DB.batch([
      ...["insert", "update_old", "update_new", "delete"].map((t) => env.DB.prepare(`DROP TRIGGER usage_rollups_days_${t}`)),
      ...["usage_days", "usage_months", "usage_coarse_backfill"].map((t) => env.DB.prepare(`DROP TABLE ${t}`)),
    ]);
    await seed();
    await env.DB.batch(m7.queries.map((q) => env.DB.prepare(q)));
  }
  const coarseCount = async (id: string) => (await env.DB.prepare("SELECT (SELECT count(*) FROM usage_days WHERE contract_id = ?1) + (SELECT count(*) FROM usage_months WHERE contract_id = ?1) AS n").bind(id).first<{ n: number }>())!.n;
  const answersOf = async (id: string, from: number, to: number) => {
    for (const groupBy of [[], ["feature"], ["day", "user"], ["collector", "product"]] as UsageDimension[][]) {
      const page = await usagePage(env.DB, { contractId: id, hours: madrid, from, to, groupBy, limit: 10_000 });
      expect(page.items, groupBy.join(",")).toEqual((await hourlyOnly(id, from, to, groupBy)).items);
      expect(page.next).toBeNull();
    }
    return (await usagePage(env.DB, { contractId: id, hours: madrid, from, to, groupBy: [], limit: 1 }));
  };

  it("marks each contract with hourly rows and sums nothing in the migration; answers come from the hourly rows until the pages are done, with writes landing on both sides of the cursor and pages run twice at once", { timeout: 180_000 }, async () => {
    const random = seededRandom(3);
    const a = "ctr_backfill_a", b = "ctr_backfill_b";
    const from = local(2026, 3, 1), to = local(2026, 5, 1);
    await migrateWith(async () => {
      await seedHours(random, a, madrid, from, to);
      await seedHours(random, b, madrid, local(2026, 3, 28), local(2026, 3, 30));
    });
    // The migration's cost is the contracts, not their history: nothing summed, a row per contract.
    expect((await env.DB.prepare("SELECT contract_id, next_hour FROM usage_coarse_backfill WHERE contract_id IN (?, ?) ORDER BY contract_id").bind(a, b).all()).results)
      .toEqual([{ contract_id: a, next_hour: 0 }, { contract_id: b, next_hour: 0 }]);
    expect(await coarseCount(a)).toBe(0);
    expect((await answersOf(a, from, to)).backfilling).toBe(true);

    // Pages of 150 rows, a random write before each (an hour inserted past the data, one updated,
    // one deleted — anywhere, so before and after the cursor), and every fifth page run twice at once.
    const pages: number[] = [];
    let extra = to;
    for (let step = 0; ; step++) {
      const rows = (await env.DB.prepare("SELECT hour, collector_id, feature, product, user, host FROM usage_rollups WHERE contract_id = ?1 ORDER BY random() LIMIT 2").bind(a).all<any>()).results;
      const [u, d] = rows;
      if (step % 3 === 0) {
        await env.DB.prepare(`INSERT INTO usage_rollups (contract_id, hour, collector_id, feature, product, user, host, day, license_s, units_num, sessions, denials, draws)
          VALUES (?1, ?2, 'col_a', 'MATLAB', '', 'eve', 'ws-2', ?3, 60, '1000000000123', 1, 0, 0)`).bind(a, extra, madrid.day(extra)).run();
        extra += HOUR;
      } else if (step % 3 === 1 && u) {
        await env.DB.prepare("UPDATE usage_rollups SET units_num = '98765432109876543210', license_s = license_s + 1, sessions = sessions + 1 WHERE contract_id = ?1 AND hour = ?2 AND collector_id = ?3 AND feature = ?4 AND product = ?5 AND user = ?6 AND host = ?7")
          .bind(a, u.hour, u.collector_id, u.feature, u.product, u.user, u.host).run();
      } else if (d) {
        await env.DB.prepare("DELETE FROM usage_rollups WHERE contract_id = ?1 AND hour = ?2 AND collector_id = ?3 AND feature = ?4 AND product = ?5 AND user = ?6 AND host = ?7")
          .bind(a, d.hour, d.collector_id, d.feature, d.product, d.user, d.host).run();
      }
      const before = await backfillFrom(env.DB, a);
      const step1 = step % 5 === 0
        ? (await Promise.all([backfillCoarse(env.DB, a, 1, 150), backfillCoarse(env.DB, a, 1, 150)]))[0]
        : await backfillCoarse(env.DB, a, 1, 150);
      pages.push(before ?? -1);
      if (step1 === "done") break;
      expect(step).toBeLessThan(500);
    }
    expect(await backfillFrom(env.DB, a)).toBeNull();
    expect(pages.length).toBeGreaterThan(20);
    for (let i = 1; i < pages.length; i++) expect(pages[i]).toBeGreaterThan(pages[i - 1]!);
    await expectCoarseRollups(a);
    // Whole now: the same answers, from the coarse rows.
    const whole = await answersOf(a, from, extra);
    expect(whole.backfilling).toBe(false);

    // An hour holding more rows than a page is a page of its own; b's two days take one page per hour.
    const hoursOfB = (await env.DB.prepare("SELECT count(DISTINCT hour) AS n FROM usage_rollups WHERE contract_id = ?").bind(b).first<{ n: number }>())!.n;
    let runs = 1;
    while (await backfillCoarse(env.DB, b, 1, 1) === "more" && runs < 200) runs++;
    expect(runs).toBeGreaterThanOrEqual(hoursOfB);
    expect(runs).toBeLessThanOrEqual(hoursOfB + 1);
    await expectCoarseRollups(b);

    // The triggers keep them after.
    await env.DB.prepare("DELETE FROM usage_rollups WHERE contract_id = ? AND day = '2026-03-29'").bind(a).run();
    await env.DB.prepare("UPDATE usage_rollups SET units_num = '123456789012345678901', license_s = 7 WHERE contract_id = ? AND day = '2026-04-02'").bind(a).run();
    await expectCoarseRollups(a);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM usage_days WHERE contract_id = ? AND day = '2026-03-29'").bind(a).first()).toEqual({ n: 0 });
  });

  it("GET …/usage on a contract still backfilling answers from the hourly rows and wakes its DO, whose alarm sums the history", { timeout: 120_000 }, async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }), { start: "2026-10-01" });
    const random = seededRandom(5);
    for (let i = 0; i < 40; i++) {
      const start = Date.UTC(2026, 9, 2) + between(random, 0, 50 * 24) * HOUR;
      appendUsage(c.sites[0]!, { session: `s${i}`, feature: pick(random, ["MATLAB", "Simulink"]), user: pick(random, ["ada", "bob"]), start, end: start + between(random, 1, 30) * 600_000 });
    }
    await send(c, c.sites[0]!);
    await drainAll(c.id);
    // As the migration leaves a contract that had hourly rows before it: none summed, a mark at 0.
    await migrateWith(async () => {});
    expect(await backfillFrom(env.DB, c.id)).toBe(0);
    expect(await coarseCount(c.id)).toBe(0);
    const stub = contractStub(c.id);
    // Nothing wakes the DO of a contract no site syncs to…
    await runDurableObjectAlarm(stub);
    expect(await backfillFrom(env.DB, c.id)).toBe(0);
    // …but a reader: the first answer is the hourly one, and the request arms the DO's alarm, which sums the rest.
    const query = `/v1/contracts/${c.id}/usage?from=2026-10-01T00:00:00Z&to=2026-12-01T00:00:00Z&group_by=feature,day`;
    const first = await ok(await call("GET", query, { token: c.vendor.api_key }));
    expect(first.items).toEqual((await hourlyOnly(c.id, Date.UTC(2026, 9, 1), Date.UTC(2026, 11, 1), ["feature", "day"])).items);
    expect(first.items.length).toBeGreaterThan(10);
    // The runtime may run the alarm itself before the test does.
    for (let i = 0; i < 50 && await backfillFrom(env.DB, c.id) !== null; i++) if (!await runDurableObjectAlarm(stub)) await scheduler.wait(20);
    expect(await backfillFrom(env.DB, c.id)).toBeNull();
    await expectCoarseRollups(c.id);
    expect(await coarseCount(c.id)).toBeGreaterThan(0);
    expect((await ok(await call("GET", query, { token: c.vendor.api_key }))).items).toEqual(first.items);
  });
});
