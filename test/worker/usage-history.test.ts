// Usage history (DESIGN.md §7): GET …/usage answers from D1's hourly rollups, paged in group order,
// [from, to) clipped on the hours of the contract's zone; the rollups are the sum of the records
// whatever the drain went through (D1 failures, repeated and partial pages, re-rating). Expected
// figures come from projection-check.ts's oracle, which recomputes them from the DO's records.
import { describe, it, expect } from "vitest";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { generateKeyPair, type UsageData } from "../../shared/protocol/index.ts";
import { drainOutbox, REPROJECT_HISTORY_STEP } from "../../worker/contract/outbox.ts";
import { revisionCheck } from "../../worker/contract/rollup-drain.ts";
import { call, contractStub, createVendor, HOUR, NOW, ok, postBatch, settle, SiteChain, type Vendor } from "./edge-fixture.ts";
import { appendUsage, planOf, PRICE, pricedContract, send } from "./pricing-fixture.ts";
import { drainAll, expectD1EqualsDO, expectedRollups, outboxLength, projections } from "./projection-check.ts";
import { between, budget, pick, runSeed, seededRandom, type Random } from "./reliability/budget.ts";

const DAY = 24 * HOUR;

interface Site { id: string; chain: SiteChain; sent: number }
interface Contract { vendor: Vendor; id: string; sites: Site[] }

/** A token contract in `timezone` with `sites` enrolled collectors. */
async function contractIn(timezone: string, sites = 1, rounding?: Record<string, number>): Promise<Contract> {
  const vendor = await createVendor();
  const customer = await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: "Plant 7" } }), 201);
  const contract = await ok(await call("POST", "/v1/contracts", {
    token: vendor.api_key,
    body: { customer_id: customer.id, start: "2026-10-01", timezone, plan: { model: "token", currency: "USD", unit_name: "token", period: "month", rates: { MATLAB: "1", "*": "0.5" }, overage: { policy: "allow" }, price: PRICE, ...(rounding ? { rounding } : {}) } },
  }), 201);
  const out: Contract = { vendor, id: contract.id, sites: [] };
  for (let i = 0; i < sites; i++) {
    const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key }), 201);
    const keys = generateKeyPair();
    const enrolled = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site: `site-${i + 1}` } }), 201);
    out.sites.push({ id: enrolled.collector_id, chain: new SiteChain(enrolled.collector_id, keys.secretKey), sent: 0 });
  }
  return out;
}

async function sendUpTo(site: Site, to: number): Promise<void> {
  if (to <= site.sent) return;
  await ok(await postBatch(site.id, site.chain.batch(site.sent + 1, to)));
  site.sent = to;
}

function usageOf(c: { id: string; vendor: Vendor }) {
  return (q: string) => call("GET", `/v1/contracts/${c.id}/usage?${q}`, { token: c.vendor.api_key });
}

/** Every page of a usage query, following next_cursor. */
async function allPages(c: { id: string; vendor: Vendor }, q: string, limit: number): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let cursor: string | null = null, pages = 0;
  do {
    const page: any = await ok(await usageOf(c)(`${q}&limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`));
    items.push(...page.items);
    cursor = page.next_cursor;
    if (++pages > 1000) throw new Error("paging never ended");
  } while (cursor);
  return { items, pages };
}

const UNIT_DEN = 3_600_000n * 10n ** 12n;
/** A numerator as the API prints units (≤ 6 decimals, half away from zero; non-negative here). */
function units(n: bigint): string {
  const micro = (n * 1_000_000n * 2n + UNIT_DEN) / (2n * UNIT_DEN);
  const whole = micro / 1_000_000n, frac = (micro % 1_000_000n).toString().padStart(6, "0").replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : String(whole);
}

/** The oracle's answer to GET …/usage: rollup rows of [from, to) grouped, in group order. */
function expectedUsage(rollups: any[], from: number, to: number, groupBy: string[]): any[] {
  const column: Record<string, string> = { collector: "collector_id" };
  const groups = new Map<string, any>();
  for (const r of rollups) {
    if (r.hour < from || r.hour >= to) continue;
    const dims = groupBy.map((d) => r[column[d] ?? d]);
    const key = JSON.stringify(dims);
    let g = groups.get(key);
    if (!g) { g = { dims, license_seconds: 0, units: 0n, draws: 0, sessions: 0, denials: 0 }; groups.set(key, g); }
    g.license_seconds += r.license_s; g.units += BigInt(r.units_num); g.draws += r.draws; g.sessions += r.sessions; g.denials += r.denials;
  }
  const cmp = (a: string[], b: string[]) => { for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1; return 0; };
  return [...groups.values()].sort((a, b) => cmp(a.dims, b.dims)).map((g) => {
    const row: any = {};
    groupBy.forEach((d, i) => { row[d] = d === "product" && g.dims[i] === "" ? null : g.dims[i]; });
    return { ...row, license_seconds: g.license_seconds, units: units(g.units), draws: g.draws, sessions: g.sessions, denials: g.denials };
  });
}

/** Random usage (sessions cut into intervals, products, denials, quarantined records) for a site. */
function randomUsage(random: Random, site: Site, n: number, earliest: number): void {
  const features = ["MATLAB", "Simulink", "POOL"];
  for (let i = 0; i < n; i++) {
    const roll = random();
    if (roll < 0.08) {
      site.chain.append({ kind: "denial", data: { source: "flexlm", daemon: "MLM", feature: pick(random, features), user: pick(random, ["ada", "bob"]), host: "ws-1", at: earliest + between(random, 0, 200) * 1800_000, reason: "no licenses" } });
      continue;
    }
    const start = earliest + between(random, 0, 9 * 24) * HOUR + between(random, 0, 59) * 60_000;
    const pieces = between(random, 1, 3);
    const session = `s${site.chain.records.length}`;
    const data: Partial<UsageData> = { feature: pick(random, features), user: pick(random, ["ada", "bob", "cyd", "dee"]), host: pick(random, ["ws-1", "ws-2"]), count: between(random, 1, 3) };
    if (data.feature === "POOL") (data as Record<string, unknown>).product = pick(random, ["NASTRAN", "ADAMS"]);
    // A session's intervals, cut at whole hours, appended in a random order (late and out-of-order arrival).
    const cuts: Array<[number, number]> = [];
    let a = start;
    for (let p = 0; p < pieces; p++) { const b = Math.floor(a / HOUR) * HOUR + HOUR; cuts.push([a, b]); a = b; }
    if (random() < 0.5) cuts.reverse();
    for (const [s, e] of cuts) {
      const quarantined = random() < 0.03;
      site.chain.usage({ ...data, session, start: s, end: quarantined ? s : e, final: e === a });
    }
  }
}

describe("usage history from the hourly rollups", () => {
  it("groups by feature and collector, and by local day with clipping and midnight splits; sessions count where they start", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }), { sites: 2 });
    const [one, two] = c.sites as [typeof c.sites[0], typeof c.sites[0]];
    appendUsage(one, { session: "a", start: NOW - 20 * HOUR, end: NOW - 18 * HOUR, count: 2 });
    appendUsage(one, { session: "b", feature: "Simulink", start: NOW - 10 * HOUR, end: NOW - 8.5 * HOUR });
    appendUsage(two, { session: "x", start: Date.UTC(2026, 10, 26, 22, 30), end: Date.UTC(2026, 10, 26, 23, 30) }); // 23:30–00:30 Berlin
    appendUsage(two, { session: "y", start: NOW - 3 * HOUR, end: NOW - 2 * HOUR });
    two.chain.append({ kind: "denial", data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "bob", host: "ws-02", at: NOW - HOUR, reason: "no licenses" } }, NOW - HOUR);
    await send(c, one); await send(c, two);
    await settle(c.id);
    const usage = usageOf(c);

    const byFeature = await ok(await usage("from=2026-11-01T00:00:00Z&to=2026-11-28T00:00:00Z&group_by=feature,collector"));
    const expected = [
      { feature: "MATLAB", collector: one.id, license_seconds: 14400, units: "4", draws: 0, sessions: 1, denials: 0 },
      { feature: "MATLAB", collector: two.id, license_seconds: 7200, units: "2", draws: 0, sessions: 2, denials: 1 },
      { feature: "Simulink", collector: one.id, license_seconds: 5400, units: "0.75", draws: 0, sessions: 1, denials: 0 },
    ].sort((x, y) => (x.feature + x.collector < y.feature + y.collector ? -1 : 1));
    expect(byFeature).toEqual({ contract_id: c.id, from: "2026-11-01T00:00:00Z", to: "2026-11-28T00:00:00Z", group_by: ["feature", "collector"], items: expected, next_cursor: null });

    // From 15:00 UTC on the 26th: session a (14:00–16:00 UTC) is clipped to its second hour, and
    // its units and its session stay with the hour it started in, outside the range.
    const byDay = await ok(await usage(`from=2026-11-26T15:00:00Z&to=2026-11-28T00:00:00Z&group_by=day`));
    expect(byDay.items).toEqual([
      { day: "2026-11-26", license_seconds: 7200 + 1800, units: "1", draws: 0, sessions: 1, denials: 0 },
      { day: "2026-11-27", license_seconds: 5400 + 1800 + 3600, units: "1.75", draws: 0, sessions: 2, denials: 1 },
    ]);
    const total = await ok(await usage("from=2026-11-01T00:00:00Z&to=2026-11-28T00:00:00Z"));
    expect(total.items).toEqual([{ license_seconds: 27000, units: "6.75", draws: 0, sessions: 4, denials: 1 }]);
    expect((await ok(await usage("from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z"))).items).toEqual([]);
    const bad = await usage("from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z");
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.to" } });
    expect((await usage("from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z&group_by=planet")).status).toBe(422);
  });

  it("a range must start and end on whole hours of the contract's zone (Kolkata's hours start at :30 UTC)", async () => {
    const c = await contractIn("Asia/Kolkata");
    const usage = usageOf(c);
    expect((await usage("from=2026-11-26T18:30:00Z&to=2026-11-27T18:30:00Z")).status).toBe(200);
    expect((await usage("from=2026-11-27T00:00:00%2B05:30&to=2026-11-28T00:00:00%2B05:30")).status).toBe(200);
    for (const q of ["from=2026-11-26T18:00:00Z&to=2026-11-27T18:30:00Z", "from=2026-11-26T18:30:00Z&to=2026-11-27T18:30:01Z"]) {
      const res = await usage(q);
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 422, body: { error: "invalid_request" } });
    }
  });

  it("pages follow group order: the pages concatenate to the one-page answer, and a cursor is checked", async () => {
    const c = await contractIn("Europe/Berlin");
    const site = c.sites[0]!;
    for (const [i, user] of ["ada", "bob", "cyd", "dee", "eve", "fay", "gus"].entries()) {
      for (const feature of ["MATLAB", "Simulink"]) site.chain.usage({ user, feature, session: `${user}-${feature}`, start: NOW - (i + 2) * HOUR });
    }
    await sendUpTo(site, site.chain.records.length);
    await settle(c.id);
    const q = "from=2026-11-20T00:00:00Z&to=2026-11-28T00:00:00Z&group_by=user,feature";
    const whole = await ok(await usageOf(c)(`${q}&limit=1000`));
    expect(whole.items).toHaveLength(14);
    const paged = await allPages(c, q, 3);
    expect(paged).toEqual({ items: whole.items, pages: 5 });
    const first = await ok(await usageOf(c)(`${q}&limit=3`));
    expect(first.items.map((r: any) => [r.user, r.feature])).toEqual([["ada", "MATLAB"], ["ada", "Simulink"], ["bob", "MATLAB"]]);
    for (const cursor of ["not-base64!", first.next_cursor.slice(0, -2), "WyJhZGEiXQ"]) {
      const res = await usageOf(c)(`${q}&cursor=${cursor}`);
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.cursor" } });
    }
    // A cursor of another query is refused too, even with as many dimensions: it would skip groups.
    for (const other of ["from=2026-11-20T00:00:00Z&to=2026-11-28T00:00:00Z&group_by=feature,user", "from=2026-11-20T00:00:00Z&to=2026-11-27T00:00:00Z&group_by=user,feature"]) {
      const res = await usageOf(c)(`${other}&cursor=${first.next_cursor}`);
      expect({ other, status: res.status, body: await res.json() }).toMatchObject({ other, status: 422, body: { error: "invalid_request", field: "query.cursor" } });
    }
    // …and so is another contract's cursor for the same query: it would page this contract from the other's groups.
    const other = await contractIn("Europe/Berlin");
    const foreign = await usageOf(other)(`${q}&cursor=${first.next_cursor}`);
    expect({ status: foreign.status, body: await foreign.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.cursor" } });
    expect((await usageOf(c)(`${q}&limit=1001`)).status).toBe(422);
  });

  it("any whole-hour range answers exactly what the records say, in a zone 5:30 off UTC (seeded)", { timeout: 120_000 }, async () => {
    const seed = runSeed("usage-clipping");
    const random = seededRandom(seed);
    const c = await contractIn("Asia/Kolkata", 2);
    const earliest = Date.UTC(2026, 10, 17, 18, 30);
    for (const site of c.sites) { randomUsage(random, site, 40, earliest); await sendUpTo(site, site.chain.records.length); }
    await drainAll(c.id);
    await expectD1EqualsDO(c.id);
    const { want } = await projections(c.id);
    const dims = ["feature", "product", "user", "host", "collector", "day"];
    for (let i = 0; i < budget(12, 100); i++) {
      const from = earliest + between(random, -24, 9 * 24) * HOUR;
      const to = from + between(random, 1, 6 * 24) * HOUR;
      const groupBy = dims.filter(() => random() < 0.35);
      const q = `from=${new Date(from).toISOString().replace(".000", "")}&to=${new Date(to).toISOString().replace(".000", "")}${groupBy.length ? `&group_by=${groupBy.join(",")}` : ""}`;
      const got = await allPages(c, q, between(random, 1, 8));
      expect(got.items, `SEED=${seed} ${q}`).toEqual(expectedUsage(want.rollups, from, to, groupBy));
    }
  });

  it("rollups equal the sum of the records after random drains with D1 failures, repeated and partial pages (seeded)", { timeout: 300_000 }, async () => {
    const seed = runSeed("usage-rollup-drains");
    const random = seededRandom(seed);
    // Rounding makes an interval's units depend on the session's earlier intervals: one arriving
    // late re-rates those already drained, so their facts change under the drain.
    const c = await contractIn("Asia/Kolkata", 2, { increment_s: 900, minimum_s: 1800, grace_s: 0 });
    const earliest = Date.UTC(2026, 10, 17, 18, 30);
    for (const site of c.sites) randomUsage(random, site, budget(60, 400), earliest);
    const stub = contractStub(c.id);
    const failing = ["usage_rollups", "usage_facts", "records"];
    for (let step = 0; step < budget(40, 300); step++) {
      const site = pick(random, c.sites);
      const roll = random();
      if (roll < 0.45 && site.sent < site.chain.records.length) {
        await sendUpTo(site, Math.min(site.chain.records.length, site.sent + between(random, 1, 25)));
      } else if (roll < 0.6) {
        const table = pick(random, failing);
        await env.DB.exec(`ALTER TABLE ${table} RENAME TO ${table}_away`);
        try { await runDurableObjectAlarm(stub); } finally { await env.DB.exec(`ALTER TABLE ${table}_away RENAME TO ${table}`); }
      } else if (roll < 0.75 && site.sent > 0) {
        // A page drained again (as after a crash between D1's commit and the outbox delete), or a
        // range rewritten as the reconciler does it (supersede, then records).
        const a = between(random, 1, site.sent), b = between(random, a, site.sent);
        const topics = random() < 0.3 ? ["supersede", "records"] : [pick(random, ["records", "units"])];
        await runInDurableObject(stub, async (_i, state) => {
          for (const topic of topics) state.storage.sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES (?, ?, ?, ?)", topic, site.id, a, b);
          // Every path of the DO that queues a page arms the alarm (the crashed drain this stands for
          // was an alarm run, which the runtime retries): so does this one, or drainAll's check that
          // queued rows always have an alarm would fail on the test's own shortcut (seed 1100890799).
          if (await state.storage.getAlarm() === null) await state.storage.setAlarm(Date.now() + 1000);
        });
      } else if (roll < 0.9) {
        await runInDurableObject(stub, async (_i, state) => {
          try { await drainOutbox(state.storage.sql, env.DB, c.id, between(random, 1, 30)); } catch { /* a failed page stays queued */ }
        });
      } else {
        await runDurableObjectAlarm(stub);
      }
    }
    for (const site of c.sites) await sendUpTo(site, site.chain.records.length);
    await drainAll(c.id);
    await expectD1EqualsDO(c.id);
    const { want } = await projections(c.id);
    const all = "from=2026-11-01T00:00:00%2B05:30&to=2026-12-01T00:00:00%2B05:30&group_by=collector,feature,product";
    expect((await allPages(c, all, 4)).items, `SEED=${seed}`).toEqual(expectedUsage(want.rollups, Date.UTC(2026, 9, 31, 18, 30), Date.UTC(2026, 10, 30, 18, 30), ["collector", "feature", "product"]));
  });

  it("a plan change re-rates history: the rollups' units move to the new figures", { timeout: 60_000 }, async () => {
    const c = await contractIn("Europe/Berlin");
    const site = c.sites[0]!;
    for (let i = 0; i < 6; i++) site.chain.usage({ session: `s${i % 2}`, start: NOW - (12 - i) * HOUR });
    await sendUpTo(site, 6);
    await drainAll(c.id);
    const total = async () => (await ok(await usageOf(c)("from=2026-11-01T00:00:00Z&to=2026-11-28T00:00:00Z"))).items[0].units;
    expect(await total()).toBe("6");
    const plan = { model: "token", currency: "USD", unit_name: "token", period: "month", rates: { MATLAB: "2.5", "*": "0.5" }, overage: { policy: "allow" }, price: PRICE };
    const put = await call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, body: { plan, effective_at: "2026-10-31T23:00:00Z" } });
    expect([200, 202]).toContain(put.status);
    // Re-rating may continue in the alarm (chunks) before its units reach the outbox.
    for (let i = 0; i < 50 && (await total()) !== "15"; i++) { await runDurableObjectAlarm(contractStub(c.id)); await drainAll(c.id); }
    expect(await total()).toBe("15");
    await expectD1EqualsDO(c.id);
  });

  it("a page's D1 work does not grow with history: rows read to drain 100 records, at 1,000 and at 4,000 records of history", { timeout: 120_000 }, async () => {
    const c = await contractIn("Europe/Berlin");
    const site = c.sites[0]!;
    const stub = contractStub(c.id);
    // Counts the rows D1 reads (result meta) for every statement the drain sends.
    let rowsRead = 0;
    const counting = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements);
          for (const r of results) rowsRead += r.meta.rows_read ?? 0;
          return results;
        };
        const value = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    let n = 0;
    const history = async (records: number) => {
      for (let i = 0; i < records; i++, n++) site.chain.usage({ session: `h${n % 500}`, user: `u${n % 300}`, feature: n % 2 ? "MATLAB" : "Simulink", start: NOW - 600 * HOUR + (n % 590) * HOUR });
      for (let to = site.sent + 1000; site.sent < site.chain.records.length; to += 1000) await sendUpTo(site, Math.min(to, site.chain.records.length));
      await drainAll(c.id);
    };
    const pageOf100 = async (): Promise<number> => {
      for (let attempt = 0; attempt < 5; attempt++) {
        for (let i = 0; i < 100; i++, n++) site.chain.usage({ session: `new${n}`, user: `u${n % 300}`, start: NOW - 5 * HOUR });
        await sendUpTo(site, site.chain.records.length);
        rowsRead = 0;
        const drained = await runInDurableObject(stub, async (_i, state) => {
          await state.storage.deleteAlarm();
          // The runtime's own alarm may have drained the page already (a loaded machine): try again.
          if (state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox WHERE topic = 'records'").one().n === 0) return false;
          await drainOutbox(state.storage.sql, counting, c.id);
          return true;
        });
        if (drained) { expect(await outboxLength(c.id)).toBe(0); return rowsRead; }
      }
      throw new Error("the runtime's alarm drained every attempt first");
    };
    await history(1000);
    const small = await pageOf100();
    await history(3000);
    const large = await pageOf100();
    console.log(`[rows read] ${small} at 1,000 records of history, ${large} at 4,000`);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeLessThanOrEqual(small * 1.25 + 50);
    await expectD1EqualsDO(c.id);
  });

  it("a write computed from a stale read aborts whole (the projection revision check)", async () => {
    const contractId = "ctr_revisioncheck000000000";
    const stale = 0;
    await env.DB.batch(revisionCheck(env.DB, contractId, stale, 0)); // someone else wrote first: rev 1
    const write = env.DB.prepare(`INSERT INTO usage_rollups (contract_id, hour, collector_id, feature, product, user, host, day, license_s, units_num, sessions, denials)
      VALUES (?, 0, 'col_x', 'F', '', 'u', 'h', '1970-01-01', 1, '1', 1, 0)`).bind(contractId);
    await expect(env.DB.batch([...revisionCheck(env.DB, contractId, stale, 0), write])).rejects.toThrow(/projection_guard/);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM usage_rollups WHERE contract_id = ?").bind(contractId).first()).toEqual({ n: 0 });
    expect(await env.DB.prepare("SELECT rev FROM projection_revs WHERE contract_id = ?").bind(contractId).first()).toEqual({ rev: 1 });
    await env.DB.batch([...revisionCheck(env.DB, contractId, 1, 0), write]);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM usage_rollups WHERE contract_id = ?").bind(contractId).first()).toEqual({ n: 1 });
  });

  it("a contract from before the rollups re-projects its history through the drain (DO storage step)", async () => {
    const c = await contractIn("Europe/Berlin", 2);
    for (const site of c.sites) { randomUsage(seededRandom(7), site, 20, NOW - 10 * DAY); await sendUpTo(site, site.chain.records.length); }
    await drainAll(c.id);
    // As a D1 migrated to 0004 finds it: the facts and rollups of older contracts are empty.
    await env.DB.batch([
      env.DB.prepare("DELETE FROM usage_facts WHERE contract_id = ?").bind(c.id),
      env.DB.prepare("DELETE FROM usage_rollups WHERE contract_id = ?").bind(c.id),
    ]);
    await runInDurableObject(contractStub(c.id), (_i, state) => { state.storage.sql.exec(REPROJECT_HISTORY_STEP); });
    expect(await outboxLength(c.id)).toBe(2);
    await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key })); // any request arms the drain
    await drainAll(c.id);
    await expectD1EqualsDO(c.id);
    const { want } = await projections(c.id);
    expect(want.rollups).toEqual(expectedRollups(c.id, want.facts, "Europe/Berlin"));
  });
});
