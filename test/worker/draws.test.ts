// Draws at the edge (issue 15): a plan with daily use windows and per-job credits, rated by the
// ContractDO's SQL store, equals the pure shared/pricing figures — balance (`draws` per feature),
// statement, a late record from another site that re-windows its key, across DO eviction — and a
// line traces to the records that opened its draws. A bad draw is a 422 naming the field.
import { describe, expect, it } from "vitest";
import { env, evictDurableObject } from "cloudflare:test";
import { call, contractStub, ok } from "./edge-fixture.ts";
import { drainAll, expectD1EqualsDO } from "./projection-check.ts";
import { appendUsage, balanceOf, HOUR, NOW, planOf, PRICE, pricedContract, prng, pureBalance, pureStatement, send, statementOf } from "./pricing-fixture.ts";

const DRAWS = planOf("pay_per_use", {
  price: PRICE,
  rates: { MATLAB: { per: "use_window", units: "2" }, SOLVER: { per: "checkout", units: "3" }, "*": "0.5" },
});
const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

describe("draws at the edge", () => {
  it("use windows and checkouts: balance and statement equal the pure figures; a late use re-windows its key", async () => {
    const c = await pricedContract(DRAWS, { sites: 2 });
    const [one, two] = c.sites as [typeof c.sites[0], typeof c.sites[0]];
    // ada: MATLAB at −20 h opens a day window; −5 h is covered. bob: his own window. A 2-license job: 6 units.
    appendUsage(one, { session: "a", start: NOW - 20 * HOUR, end: NOW - 19 * HOUR });
    appendUsage(one, { session: "b", start: NOW - 5 * HOUR, end: NOW - 4 * HOUR });
    appendUsage(one, { session: "c", user: "bob", start: NOW - 6 * HOUR, end: NOW - 5.5 * HOUR });
    appendUsage(one, { session: "j", feature: "SOLVER", count: 2, start: NOW - 3 * HOUR, end: NOW - 2 * HOUR });
    appendUsage(one, { session: "d", feature: "Simulink", start: NOW - 3 * HOUR, end: NOW - HOUR });
    await send(c, one);
    let b = await balanceOf(c);
    expect(b.usage.by_feature.map((f: any) => [f.feature, f.units, f.draws])).toEqual([["MATLAB", "4", 2], ["SOLVER", "6", 2], ["Simulink", "1", 0]]);
    expect(pick(b, Object.keys(pureBalance(c)))).toEqual(pureBalance(c));

    // ada on site two at −26 h (arriving now): [−26 h, −2 h) covers −20 h and −5 h — still one draw for ada,
    // now opened by site two's record.
    appendUsage(two, { session: "x", start: NOW - 26 * HOUR, end: NOW - 25 * HOUR });
    await send(c, two);
    b = await balanceOf(c);
    expect(b.usage.by_feature.find((f: any) => f.feature === "MATLAB")).toMatchObject({ units: "4", draws: 2 });
    expect(pick(b, Object.keys(pureBalance(c)))).toEqual(pureBalance(c));
    const statement = await ok(await statementOf(c));
    expect(statement).toEqual(pureStatement(c, "2026-11-01"));

    // Lines name the records that opened draws or charged hours, never a covered use: the first tier's
    // 10 units are ada's window (site two, seq 1), bob's (seq 3) and the job (seq 4); Simulink's hour
    // (seq 5) is in the second tier.
    const tiers = statement.lines.filter((l: any) => l.kind === "tier");
    const trace = async (id: string) => (await ok(await call("GET", `/v1/contracts/${c.id}/statement/lines/${encodeURIComponent(id)}/records`, { token: c.vendor.api_key }))).items;
    expect(await trace(tiers[0].id)).toEqual([{ collector_id: two.id, first_seq: 1, last_seq: 1 }, { collector_id: one.id, first_seq: 3, last_seq: 4 }]);
    expect(await trace(tiers[1].id)).toEqual([{ collector_id: one.id, first_seq: 5, last_seq: 5 }]);
    // The draws lines: quantity = draws, unit_price = units per draw, traced to the records that opened them.
    const drawLines = statement.lines.filter((l: any) => l.kind === "draws");
    expect(drawLines.map((l: any) => [l.feature, l.quantity, l.unit_price, l.amount])).toEqual([["MATLAB", "2", "2", "0.00"], ["SOLVER", "2", "3", "0.00"]]);
    expect(await trace(drawLines[0].id)).toEqual([{ collector_id: two.id, first_seq: 1, last_seq: 1 }, { collector_id: one.id, first_seq: 3, last_seq: 3 }]);
    expect(await trace(drawLines[1].id)).toEqual([{ collector_id: one.id, first_seq: 4, last_seq: 4 }]);

    await evictDurableObject(contractStub(c.id));
    expect(pick(await balanceOf(c), Object.keys(pureBalance(c)))).toEqual(pureBalance(c));

    // Usage history: each draw in the hour its opening record starts, units with it; D1 = the DO.
    await drainAll(c.id);
    await expectD1EqualsDO(c.id);
    const history = await ok(await call("GET", `/v1/contracts/${c.id}/usage?from=2026-11-01T00:00:00Z&to=2026-12-01T00:00:00Z&group_by=feature`, { token: c.vendor.api_key }));
    expect(history.items.map((r: any) => [r.feature, r.units, r.draws, r.sessions])).toEqual([["MATLAB", "4", 2, 4], ["SOLVER", "6", 2, 1], ["Simulink", "1", 0, 1]]);
  });

  it("sessions of two sites on a half-hour grid, appended out of order and sent in random batches, give the pure figures", async () => {
    const seed = Number(env.SEED || Date.now() % 100_000);
    console.log(`[draws] two sites interleaved: SEED=${seed}`);
    const random = prng(seed);
    // 6-hour windows per user (any feature) so that windows chain, shift and touch end to start.
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE, rates: { "*": { per: "use_window", units: "1.5", window_s: 21_600, key: ["user"] }, SOLVER: { per: "checkout", units: "2" } } }), { sites: 2 });
    for (const site of c.sites) {
      const sessions = Array.from({ length: 12 }, (_, s) => ({
        session: `s${s}`, user: random() < 0.5 ? "ada" : "bob", feature: random() < 0.2 ? "SOLVER" : "MATLAB", count: 1 + Math.floor(random() * 2),
        start: NOW - 40 * HOUR + Math.floor(random() * 72) * 1_800_000,
      }));
      for (let i = sessions.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [sessions[i], sessions[j]] = [sessions[j]!, sessions[i]!]; }
      for (const s of sessions) appendUsage(site, { ...s, end: s.start + 20 * 60_000 });
    }
    const pending = (s: typeof c.sites[0]) => s.chain.records.length - s.sent;
    while (c.sites.some((s) => pending(s) > 0)) {
      const open = c.sites.filter((s) => pending(s) > 0);
      const site = open[Math.floor(random() * open.length)]!;
      await send(c, site, NOW, site.sent + 1 + Math.floor(random() * Math.min(pending(site), 4)));
    }
    expect(pick(await balanceOf(c), Object.keys(pureBalance(c)))).toEqual(pureBalance(c));
    expect(await ok(await statementOf(c))).toEqual(pureStatement(c, "2026-11-01"));
  });

  it("a bad draw is refused with 422 naming the field", async () => {
    const c = await pricedContract(DRAWS);
    const put = (rates: unknown) => call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, body: { plan: { ...DRAWS, rates }, effective_at: "2026-11-15T00:00:00Z" } });
    const cases: Array<[unknown, string]> = [
      [{ MATLAB: { per: "use_day", units: "2" } }, "plan.rates.MATLAB.per"],
      [{ MATLAB: { per: "use_window", units: "-2" } }, "plan.rates.MATLAB.units"],
      [{ MATLAB: { per: "checkout", units: "2.5e1" } }, "plan.rates.MATLAB.units"],
      [{ MATLAB: { per: "use_window", units: "2", window_s: 30 } }, "plan.rates.MATLAB.window_s"],
    ];
    for (const [rates, field] of cases) {
      const res = await put(rates);
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 422, body: { error: "invalid_plan", field } });
    }
  });
});
