// Live balances at the edge (DESIGN.md §6–§7): for every licensing model, the balance the
// ContractDO serves over HTTP equals the pure shared/pricing computation on the same plan
// versions, grants and records — whatever the batching, arrival order or number of sites, across
// DO eviction, grants (idempotent) and plan versions; and bad plans are refused naming the field.
import { describe, it, expect } from "vitest";
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import type { ContractDO } from "../../worker/contract/contract-do.ts";
import { call, contractStub, ok } from "./edge-fixture.ts";
import {
  appendUsage, balanceOf, grant, HOUR, NOW, planOf, PRICE, pricedContract, prng, pureBalance, send, statementOf,
  type PricedContract, type Site,
} from "./pricing-fixture.ts";

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));

async function expectBalanceMatchesPure(c: PricedContract, now = NOW): Promise<any> {
  const http = await balanceOf(c, now);
  const pure = pureBalance(c, now);
  expect(pick(http, Object.keys(pure))).toEqual(pure);
  return http;
}

/** Three sessions on one site: MATLAB 2 h × 2 licenses (4 units), Simulink 90 min at 0.5 (0.75), MATLAB in
 * two intervals of 7 min (0.233333): 4.983333 units. */
async function typicalUsage(c: PricedContract): Promise<void> {
  const site = c.sites[0]!;
  appendUsage(site, { session: "a", start: NOW - 20 * HOUR, end: NOW - 18 * HOUR, count: 2 });
  appendUsage(site, { session: "b", feature: "Simulink", start: NOW - 10 * HOUR, end: NOW - 8.5 * HOUR });
  appendUsage(site, { session: "c", start: NOW - 5 * HOUR, end: NOW - 5 * HOUR + 420_000 });
  appendUsage(site, { session: "c", start: NOW - 5 * HOUR + 420_000, end: NOW - 5 * HOUR + 840_000 });
  await send(c, site);
}

describe("the balance of each licensing model equals the pure computation", () => {
  it("pay_per_use: all usage priced in graduated tiers, first tier's flat fee", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    await typicalUsage(c);
    const b = await expectBalanceMatchesPure(c);
    expect({ units: b.usage.units, remaining: b.remaining_units, status: b.status, total: b.charges.total })
      .toEqual({ units: "4.983333", remaining: null, status: "ok", total: "2.99" });
  });

  it("prepaid_overage: a grant burns first, the rest is overage at the price", async () => {
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" } }));
    await grant(c, { amount: "2", idempotency_key: "g1" });
    await typicalUsage(c);
    const b = await expectBalanceMatchesPure(c);
    expect({ remaining: b.remaining_units, overage: b.overage_units, status: b.status }).toEqual({ remaining: "0", overage: "2.983333", status: "exhausted" });
  });

  it("hybrid: fixed fee, included units, then grants, then the price", async () => {
    const c = await pricedContract(planOf("hybrid", { fixed_fee: "100", included_units: "1", price: PRICE }));
    await grant(c, { amount: "1.5", idempotency_key: "g1" });
    await typicalUsage(c);
    const b = await expectBalanceMatchesPure(c);
    expect(b.charges.fixed).toBe("100.00");
  });

  it("token with overage blocked: what no grant covers is unbilled and the status is blocked", async () => {
    const c = await pricedContract(planOf("token", { overage: { policy: "block" } }));
    await grant(c, { amount: "4", idempotency_key: "g1" });
    await typicalUsage(c);
    const b = await expectBalanceMatchesPure(c);
    expect({ unbilled: b.unbilled_overage_units, status: b.status, total: b.charges.total }).toEqual({ unbilled: "0.983333", status: "blocked", total: "0.00" });
  });

  it("tiered: volume pricing with a minimum commitment true-up", async () => {
    const c = await pricedContract(planOf("tiered", { price: { ...PRICE, mode: "volume" }, minimum_commitment: "20" }));
    await typicalUsage(c);
    const b = await expectBalanceMatchesPure(c);
    expect(b.charges.total).toBe("20.00");
  });
});

describe("order, batching and sites never change the figures", () => {
  it("records of three sites, appended out of time order and sent in random interleaved batches, give the pure balance; eviction keeps it byte for byte", async () => {
    const seed = Number(env.SEED || Date.now() % 100_000);
    console.log(`[pricing] three sites interleaved: SEED=${seed}`);
    const random = prng(seed);
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" } }), { sites: 3 });
    await grant(c, { amount: "3", priority: 1, idempotency_key: "base" });
    await grant(c, { amount: "2", expires_at: "2026-11-20T00:00:00Z", idempotency_key: "promo" });
    for (const site of c.sites) {
      const intervals: Array<{ session: string; feature: string; start: number; end: number; count: number }> = [];
      for (let s = 0; s < 6; s++) {
        let t = Date.UTC(2026, 10, 2) + Math.floor(random() * 24 * 24) * HOUR;
        const feature = random() < 0.5 ? "MATLAB" : "Simulink";
        const count = 1 + Math.floor(random() * 3);
        for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
          const len = (1 + Math.floor(random() * 90)) * 60_000 + Math.floor(random() * 60) * 1000;
          intervals.push({ session: `s${s}`, feature, start: t, end: t + len, count });
          t += len;
        }
      }
      for (let i = intervals.length - 1; i > 0; i--) { const j = Math.floor(random() * (i + 1)); [intervals[i], intervals[j]] = [intervals[j]!, intervals[i]!]; }
      for (const iv of intervals) appendUsage(site, iv);
    }
    const pending = (s: Site) => s.chain.records.length - s.sent;
    while (c.sites.some((s) => pending(s) > 0)) {
      const site = c.sites.filter((s) => pending(s) > 0)[Math.floor(random() * c.sites.filter((s) => pending(s) > 0).length)]!;
      await send(c, site, NOW, site.sent + 1 + Math.floor(random() * Math.min(pending(site), 5)));
    }
    const before = await expectBalanceMatchesPure(c);
    expect(before.usage.by_feature.length).toBeGreaterThan(0);
    const texts = async () => [await (await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key })).text(), await (await statementOf(c)).text()];
    const warm = await texts();
    await evictDurableObject(contractStub(c.id));
    expect(await texts()).toEqual(warm);
  });
});

describe("grants", () => {
  it("the same idempotency_key and body answers the first grant again; another body is a 409; it counts once", async () => {
    const c = await pricedContract(planOf("token", { overage: { policy: "block" } }));
    const body = { amount: "10", priority: 2, expires_at: "2027-01-01T00:00:00Z", idempotency_key: "topup-1" };
    const first = await grant(c, body);
    expect(first).toEqual({ id: expect.stringMatching(/^grt_[0-9a-f]{32}$/), contract_id: c.id, amount: "10", priority: 2, effective_at: null, expires_at: "2027-01-01T00:00:00Z", created_at: "2026-11-27T10:00:00Z", rerating: null });
    const again = await call("POST", `/v1/contracts/${c.id}/grants`, { token: c.vendor.api_key, body });
    expect({ status: again.status, replayed: again.headers.get("Idempotent-Replayed"), body: await again.json() }).toEqual({ status: 201, replayed: "true", body: first });
    const other = await call("POST", `/v1/contracts/${c.id}/grants`, { token: c.vendor.api_key, body: { ...body, amount: "11" } });
    expect({ status: other.status, error: (await other.json() as any).error }).toEqual({ status: 409, error: "idempotency_conflict" });
    const bad = await call("POST", `/v1/contracts/${c.id}/grants`, { token: c.vendor.api_key, body: { ...body, amount: "-1", idempotency_key: "x" } });
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "amount" } });
    const b = await balanceOf(c);
    expect({ granted: b.granted_units, remaining: b.remaining_units, grants: b.grants.length, status: b.status }).toEqual({ granted: "10", remaining: "10", grants: 1, status: "ok" });
  });

  it("the Idempotency-Key header is honoured as on every creating POST: a retry with a regenerated body key is a 409, not a second grant", async () => {
    const c = await pricedContract(planOf("token", { overage: { policy: "block" } }));
    const post = (idempotency_key: string) => call("POST", `/v1/contracts/${c.id}/grants`, {
      token: c.vendor.api_key, headers: { "Idempotency-Key": "order-42" }, body: { amount: "10", idempotency_key },
    });
    const first = await ok(await post("attempt-1"), 201);
    const replay = await post("attempt-1");
    expect({ status: replay.status, replayed: replay.headers.get("Idempotent-Replayed"), body: await replay.json() }).toEqual({ status: 201, replayed: "true", body: first });
    const retried = await post("attempt-2");
    expect({ status: retried.status, error: (await retried.json() as any).error }).toEqual({ status: 409, error: "idempotency_conflict" });
    const bad = await call("POST", `/v1/contracts/${c.id}/grants`, { token: c.vendor.api_key, headers: { "Idempotency-Key": "" }, body: { amount: "10", idempotency_key: "k" } });
    expect({ status: bad.status, field: (await bad.json() as any).field }).toEqual({ status: 422, field: "Idempotency-Key" });
    const b = await balanceOf(c);
    expect({ granted: b.granted_units, grants: b.grants.length }).toEqual({ granted: "10", grants: 1 });
  });
});

describe("retroactive grants", () => {
  it("a grant whose start and expiry cut rated usage answers 201 with `rerating`, counts at once, and the alarm re-cuts the usage into its segments", async () => {
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" } }));
    const site = c.sites[0]!;
    // One session, 10 Nov 09:00 → 12:00 (3 units); another 20 Nov 09:00 → 13:00 (4 units).
    appendUsage(site, { session: "a", start: Date.UTC(2026, 10, 10, 9), end: Date.UTC(2026, 10, 10, 12) });
    appendUsage(site, { session: "b", start: Date.UTC(2026, 10, 20, 9), end: Date.UTC(2026, 10, 20, 13) });
    await send(c, site);
    // Active 10 Nov 10:00 → 20 Nov 11:00: it covers the last 2 h of "a" and the first 2 h of "b".
    const g = await grant(c, { amount: "100", effective_at: "2026-11-10T10:00:00Z", expires_at: "2026-11-20T11:00:00Z", idempotency_key: "retro" });
    expect(g.rerating).toEqual({ done: 0, total: 2 });
    while (await runDurableObjectAlarm(contractStub(c.id))) { /* re-cut, then the drain */ }
    const b = await expectBalanceMatchesPure(c);
    // 4 of the 7 units fell inside the grant (it has expired by now, so it is no longer listed).
    expect({ rerating: b.rerating, overage: b.overage_units, grants: b.grants }).toEqual({ rerating: undefined, overage: "3", grants: [] });
    expect((await ok(await statementOf(c))).lines.find((l: any) => l.id === `grant:${g.id}`).quantity).toBe("4");
    // A grant cutting nothing already rated needs no re-rating.
    expect((await grant(c, { amount: "5", idempotency_key: "plain" })).rerating).toBeNull();
    await expectBalanceMatchesPure(c);
  });
});

describe("plan versions", () => {
  it("a version taking effect mid-period is accepted at once (202) and re-rated by the alarm; then the balance equals the pure computation on both versions", async () => {
    const plan = planOf("pay_per_use", { price: PRICE });
    const c = await pricedContract(plan);
    const site = c.sites[0]!;
    appendUsage(site, { session: "early", start: Date.UTC(2026, 10, 10, 9), end: Date.UTC(2026, 10, 10, 12) });
    appendUsage(site, { session: "late", start: Date.UTC(2026, 10, 20, 9), end: Date.UTC(2026, 10, 20, 12) });
    await send(c, site);
    const before = await expectBalanceMatchesPure(c);
    const next = { ...plan, rates: { MATLAB: "2", "*": "1" }, scope: [{ daemon: "MLM", features: ["MATLAB"] }] };
    const res = await ok(await call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, body: { plan: next, effective_at: "2026-11-15T00:00:00Z" } }), 202);
    expect({ version: res.version.effective_at, versions: res.versions.map((v: any) => v.effective_at), rerating: res.rerating })
      .toEqual({ version: "2026-11-15T00:00:00Z", versions: ["2026-10-31T23:00:00Z", "2026-11-15T00:00:00Z"], rerating: { done: 0, total: 1 } });
    // Until the alarm has re-rated the session after 15 Nov, the balance says so.
    const during = await balanceOf(c);
    expect({ rerating: during.rerating, units: during.usage.units }).toEqual({ rerating: { done: 0, total: 1 }, units: "6" });
    while (await runDurableObjectAlarm(contractStub(c.id))) { /* chunks, then the drain */ }
    c.plans.push({ effective_at: Date.UTC(2026, 10, 15), plan: next as any });
    const after = await expectBalanceMatchesPure(c);
    expect({ before: before.usage.units, after: after.usage.units, rerating: after.rerating }).toEqual({ before: "6", after: "9", rerating: undefined });
    // The version reaches the contract (D1's plan_json is the latest), the sites' contract doc and the quarantine scope.
    expect((await ok(await call("GET", `/v1/contracts/${c.id}`, { token: c.vendor.api_key }))).plan).toEqual(next);
    const doc = await runInDurableObject(contractStub(c.id), (instance: ContractDO) => instance.readDoc());
    expect((doc.terms.plan_versions as any[]).map((v) => v.effective_at)).toEqual([Date.UTC(2026, 9, 31, 23), Date.UTC(2026, 10, 15)]);
    expect(doc.terms.scope).toBeNull(); // the first version meters everything: the site keeps sending everything
    appendUsage(site, { session: "simulink", feature: "Simulink", start: Date.UTC(2026, 10, 21, 9), end: Date.UTC(2026, 10, 21, 10) });
    appendUsage(site, { session: "old-simulink", feature: "Simulink", start: Date.UTC(2026, 10, 11, 9), end: Date.UTC(2026, 10, 11, 10) });
    await send(c, site);
    const b = await balanceOf(c);
    // After 15 Nov only MATLAB is in scope: the Simulink hour of 21 Nov is quarantined, the one of 11 Nov rated at 0.5.
    expect({ quarantined: b.quarantined_records, simulink: b.usage.by_feature.find((f: any) => f.feature === "Simulink")?.units }).toEqual({ quarantined: 1, simulink: "0.5" });
  });

  it("a site enrolled after a plan change learns every version's scope at enrollment, as the contract doc says, not only the latest's", async () => {
    const first = planOf("pay_per_use", { price: PRICE, scope: [{ daemon: "MLM", features: ["MATLAB"] }] });
    const c = await pricedContract(first);
    const token = c.vendor.api_key;
    const enroll = async () => {
      const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${c.id}/enrollments`, { token }), 201);
      return ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: "ab".repeat(32), site: "late-site" } }), 201);
    };
    expect((await enroll()).scope).toEqual([{ daemon: "MLM", features: ["MATLAB"] }]);
    await ok(await call("PUT", `/v1/contracts/${c.id}/plan`, { token, body: { plan: { ...first, scope: [{ daemon: "MLM", features: ["Simulink"] }] }, effective_at: "2026-11-15T00:00:00Z" } }), 202);
    // A site backfilling 10 November must still send MATLAB (billable then): it keeps only what its scope names.
    const union = [{ daemon: "MLM", features: ["MATLAB", "Simulink"] }];
    const doc = await runInDurableObject(contractStub(c.id), (instance: ContractDO) => instance.readDoc());
    expect(doc.terms.scope).toEqual(union);
    expect((await enroll()).scope).toEqual(union);
    // A version metering everything makes the scope null (send everything), at enrollment too.
    await ok(await call("PUT", `/v1/contracts/${c.id}/plan`, { token, body: { plan: { ...first, scope: undefined }, effective_at: "2026-11-20T00:00:00Z" } }), 202);
    expect((await enroll()).scope).toBeNull();
  });

  it("period, currency and unit_name never change (422 naming the field); a closed period takes no version (409 period_closed)", async () => {
    const plan = planOf("pay_per_use", { price: PRICE });
    const c = await pricedContract(plan, { start: "2026-09-01" });
    const put = (body: unknown) => call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, body });
    const cases: Array<[unknown, number, string, string]> = [
      [{ plan: { ...plan, currency: "EUR" }, effective_at: "2026-11-15T00:00:00Z" }, 422, "invalid_plan", "plan.currency"],
      [{ plan: { ...plan, unit_name: "credit" }, effective_at: "2026-11-15T00:00:00Z" }, 422, "invalid_plan", "plan.unit_name"],
      [{ plan: { ...plan, period: "year" }, effective_at: "2026-11-15T00:00:00Z" }, 422, "invalid_plan", "plan.period"],
      [{ plan: { ...plan, model: "tiered", price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "1" }] } }, effective_at: "2026-11-15T00:00:00Z" }, 422, "invalid_plan", "plan.price.tiers"],
      [{ plan, effective_at: "2026-10-15T00:00:00Z" }, 409, "period_closed", "effective_at"],
    ];
    for (const [body, status, error, field] of cases) {
      const res = await put(body);
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status, body: { error, field } });
    }
  });

  it("a contract whose plan breaks its model's rules is refused naming the field, and nothing is created", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    const customerId = (await ok(await call("GET", "/v1/contracts", { token: c.vendor.api_key }))).items[0].customer_id;
    const cases: Array<[Record<string, unknown>, string]> = [
      [planOf("hybrid", { price: PRICE }), "plan.fixed_fee"],
      [planOf("tiered", { price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "1" }] } }), "plan.price.tiers"],
      [planOf("token"), "plan.overage"],
      [planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" }, fixed_fee: "5" }), "plan.fixed_fee"],
      [planOf("pay_per_use"), "plan.price"],
      [planOf("pay_per_use", { price: PRICE, overage: { policy: "allow", limit_units: "3" } }), "plan.overage.limit_units"],
    ];
    for (const [plan, field] of cases) {
      const res = await call("POST", "/v1/contracts", { token: c.vendor.api_key, body: { customer_id: customerId, plan, start: "2026-11-01", timezone: "UTC" } });
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 422, body: { error: "invalid_plan", field } });
    }
    expect((await ok(await call("GET", "/v1/contracts", { token: c.vendor.api_key }))).items).toHaveLength(1);
  });
});
