// Adversarial contracts with hand-computed figures (pricing review, 2026-12-04).
import { describe, expect, it } from "vitest";
import {
  computeBalance, computeStatement, grantChange, LiveLedger, LiveStatements, periodStarting, pricingTerms, traceLine, type GrantInput,
} from "../../../shared/pricing/index.ts";
import { DEC, H, MIN, NOV, graduated, input, lineSummary, plan, usage, volume } from "./contract-fixture.ts";
import { MemoryLiveStore } from "./memory-live-store.ts";

const D = 24 * H;

describe("adversarial contracts", () => {
  it("a tier boundary crossed inside one session: whole, cut into records, or many sessions give the same money", () => {
    // 15 h × 1 = 15 units: tier 1 10 × 1.00 = 10.00; tier 2 5 × 0.50 = 2.50; flat fee tier 2 5.00 → 17.50
    const p = plan({ model: "pay_per_use", price: graduated(["10", "1.00"], [null, "0.50", "5"]) });
    const whole = [usage(NOV + H, 15, { session: "W" })];
    const cut = Array.from({ length: 15 }, (_, i) => usage(NOV + H + i * H, 1, { session: "C" }));
    const many = Array.from({ length: 60 }, (_, i) => usage(NOV + H + i * 15 * MIN, 0.25));
    for (const u of [whole, cut, many]) {
      const s = computeStatement(input(p, u), "2026-11-01");
      expect(lineSummary(s)).toEqual([["tier#1", "10", "10.00"], ["tier#2", "5", "2.50"], ["tier_flat_fee#2", "1", "5.00"]]);
      expect(s.total).toBe("17.50");
    }
  });

  it("volume: exactly at up_to vs one second past it", () => {
    const p = plan({ model: "tiered", price: volume(["10", "1.00"], [null, "0.50"]) });
    // 10 units → tier 1: 10.00
    expect(computeStatement(input(p, [usage(NOV, 10)]), "2026-11-01").total).toBe("10.00");
    // 10 h + 1 s = 10.000277… units → all at 0.50 = 5.000138… → 5.00
    expect(computeStatement(input(p, [usage(NOV, 10 + 1 / 3600)]), "2026-11-01").total).toBe("5.00");
  });

  it("prepaid balance running out mid-session bills the rest as overage", () => {
    // grant 10; one 15 h session → 10 from the grant, 5 overage × 2 = 10.00; remaining 0 → exhausted
    const p = plan({ model: "prepaid_overage", price: graduated([null, "2"]), overage: { policy: "allow" } });
    const b = computeBalance(input(p, [usage(NOV + H, 15)], [{ id: "g", amount: "10", created_at: NOV }]), NOV + 20 * H);
    expect(b).toMatchObject({ remaining_units: "0", overage_units: "5", status: "exhausted", charges: { usage: "10.00", total: "10.00" } });
  });

  it("limit: a prepaid contract bills up to the limit and blocks", () => {
    // grant 10; 20 units → overage 10; limit 4 → billed 4 × 2 = 8.00, unbilled 6
    const p = plan({ model: "prepaid_overage", price: graduated([null, "2"]), overage: { policy: "limit", limit_units: "4" } });
    const b = computeBalance(input(p, [usage(NOV + H, 20)], [{ id: "g", amount: "10", created_at: NOV }]), NOV + 30 * H);
    expect(b).toMatchObject({ overage_units: "10", unbilled_overage_units: "6", status: "blocked", charges: { total: "8.00" } });
  });

  it("hybrid: fixed fee, included units, price, then the commitment true-up", () => {
    // 30 units: 10 included, 20 × 1 = 20.00; fixed 100 → 120.00; commitment 150 → true-up 30.00 → 150.00
    const p = plan({ model: "hybrid", fixed_fee: "100", included_units: "10", minimum_commitment: "150", price: graduated([null, "1"]) });
    const inp = input(p, [usage(NOV + H, 30)]);
    const s = computeStatement(inp, "2026-11-01");
    expect(lineSummary(s)).toEqual([["fixed_fee", "1", "100.00"], ["prepaid_usage", "10", "0.00"], ["tier#1", "20", "20.00"], ["commitment_true_up", "1", "30.00"]]);
    expect(computeBalance(inp, NOV + 40 * H).charges).toEqual({ fixed: "130.00", usage: "20.00", adjustments: "0.00", total: "150.00" });
  });

  it("a session across a period boundary in Berlin splits at local midnight", () => {
    // Contract Berlin, monthly from 2026-10-01. Nov starts 2026-11-01 00:00 CET = 2026-10-31T23:00Z.
    // Session 22:00Z → 01:00Z (3 h): 1 h in October, 2 h in November.
    const p = plan({ model: "pay_per_use", price: graduated([null, "1"]) });
    const start = Date.parse("2026-10-31T22:00:00Z");
    const inp = { ...input([{ effective_at: Date.parse("2026-09-30T22:00:00Z"), plan: p }], [usage(start, 3)]), contract: { start: "2026-10-01", timezone: "Europe/Berlin", period: "month" as const } };
    expect(computeStatement(inp, "2026-10-01").total).toBe("1.00");
    expect(computeStatement(inp, "2026-11-01").total).toBe("2.00");
    expect(computeStatement(inp, "2026-11-01").period).toEqual({ start: "2026-10-31T23:00:00Z", end: "2026-11-30T23:00:00Z", start_date: "2026-11-01" });
  });

  it("a period starting on a midnight that does not exist (Santiago, DST at 24:00)", () => {
    // 2026-09-06 00:00 in Santiago is skipped (23:59:59 −04 → 01:00 −03): the period starts 04:00Z.
    // A session 03:30Z → 04:30Z is 30 min in each period.
    const p = plan({ model: "pay_per_use", price: graduated([null, "2"]) });
    const start = Date.parse("2026-09-06T03:30:00Z");
    const inp = { ...input([{ effective_at: Date.parse("2026-08-06T04:00:00Z"), plan: p }], [usage(start, 1)]), contract: { start: "2026-08-06", timezone: "America/Santiago", period: "month" as const } };
    const sep = computeStatement(inp, "2026-09-06");
    expect(sep.period.start).toBe("2026-09-06T04:00:00Z");
    expect(sep.total).toBe("1.00");
    expect(computeStatement(inp, "2026-08-06").total).toBe("1.00");
  });

  it("period-level terms follow the version at the period start; tier positions count over the period", () => {
    // v0 (Nov 1): hybrid fixed 100, included 10, graduated 10@1, then 0.5. v1 (Nov 16): fixed 200, included 0, 10@2, then 1.
    // 18 h before the 16th, 8 h after: included 10 (period-level), overage 8 (v0) + 8 (v1).
    // v0 chunk: positions 0→8 tier 1 @1 = 8.00. v1 chunk: 8→10 tier 1 @2 = 4.00, 10→16 tier 2 @1 = 6.00. Fixed 100 → 118.00.
    const v0 = plan({ model: "hybrid", fixed_fee: "100", included_units: "10", price: graduated(["10", "1"], [null, "0.5"]) });
    const v1 = plan({ model: "hybrid", fixed_fee: "200", price: graduated(["10", "2"], [null, "1"]) });
    const NOV16 = NOV + 15 * D;
    const inp = input([{ effective_at: NOV, plan: v0 }, { effective_at: NOV16, plan: v1 }], [usage(NOV + D, 18), usage(NOV16 + D, 8)]);
    const s = computeStatement(inp, "2026-11-01");
    expect(s.total).toBe("118.00");
    // December: v1 in force at its start: fixed 200, nothing included. 1 h → 1 × 2 = 2.00 → 202.00
    expect(computeStatement({ ...inp, intervals: [...inp.intervals, usage(DEC + H, 1)] }, "2026-12-01").total).toBe("202.00");
  });

  it("huge counts stay exact in units and money", () => {
    // count 2^53 − 1 for 1 h at rate 1 → 9007199254740991 units × 0.01 = 90071992547409.91
    const p = plan({ model: "pay_per_use", price: graduated([null, "0.01"]) });
    const s = computeStatement(input(p, [usage(NOV + H, 1, { count: Number.MAX_SAFE_INTEGER })]), "2026-11-01");
    expect(lineSummary(s)).toEqual([["tier#1", "9007199254740991", "90071992547409.91"]]);
  });

  it("a grant added mid-period with an explicit effective_at covers only what comes after it", () => {
    // prepaid allow @1: 5 h on Nov 2, grant 10 effective Nov 10, 5 h on Nov 11 → overage 5 (5.00), grant burns 5, remaining 5.
    const p = plan({ model: "prepaid_overage", price: graduated([null, "1"]), overage: { policy: "allow" } });
    const b = computeBalance(input(p, [usage(NOV + D, 5), usage(NOV + 10 * D, 5)], [{ id: "g", amount: "10", created_at: NOV + 9 * D, effective_at: NOV + 9 * D }]), NOV + 12 * D);
    expect(b).toMatchObject({ overage_units: "5", remaining_units: "5", charges: { total: "5.00" } });
  });
});

describe("tier flat fees under a plan version in force for part of the period", () => {
  const NOV16 = NOV + 15 * D;
  const noFee = plan({ model: "pay_per_use", price: graduated(["10", "1"], [null, "0.5"]) });
  const fee = plan({ model: "pay_per_use", price: graduated(["10", "1"], [null, "0.5", "100"]) });
  const used = () => [usage(NOV + D, 12), usage(NOV16 + D, 3)];

  it("a tier entered under a version without a flat fee is not charged the next version's fee for staying in it", () => {
    // 12 units before the 16th (v0): tier 1 10 × 1 = 10.00, tier 2 entered at unit 11 (no fee) 2 × 0.5 = 1.00.
    // 3 units after (v1): still tier 2, 3 × 0.5 = 1.50 — tier 2 is not entered again, so no 100.00 fee → 12.50
    const s = computeStatement(input([{ effective_at: NOV, plan: noFee }, { effective_at: NOV16, plan: fee }], used()), "2026-11-01");
    expect(lineSummary(s)).toEqual([["tier#1", "10", "10.00"], ["tier#2", "2", "1.00"], ["tier#2", "3", "1.50"]]);
    expect(s.total).toBe("12.50");
  });

  it("a tier entered under a version with a flat fee is charged it once", () => {
    // v0 has the fee: tier 2 entered on the 2nd → 100.00 once; 10.00 + 1.00 + 1.50 + 100.00 = 112.50
    const s = computeStatement(input([{ effective_at: NOV, plan: fee }, { effective_at: NOV16, plan: noFee }], used()), "2026-11-01");
    expect(lineSummary(s)).toEqual([["tier#1", "10", "10.00"], ["tier#2", "2", "1.00"], ["tier#2", "3", "1.50"], ["tier_flat_fee#2", "1", "100.00"]]);
    expect(s.total).toBe("112.50");
  });
});

describe("adversarial contracts: late records", () => {
  const freeze = (s: ReturnType<typeof computeStatement>) => ({ ...s, state: "closed" as const });
  const day = (d: number) => NOV + (d - 1) * D;

  it("a late record under a commitment moves the true-up, not the total", () => {
    // tiered, 100 @1 then 0.5, commitment 150. Nov on time 100 → 100.00 + true-up 50.00.
    // Late 20 (received 10 Dec): Nov re-rated 100.00 + 10.00 + true-up 40.00 = 150.00.
    // Dec: own true-up 150.00 (no usage); adjustments tier#2 +20 +10.00, true-up −10.00 → 150.00.
    const p = plan({ model: "tiered", minimum_commitment: "150", price: graduated(["100", "1"], [null, "0.5"]) });
    const onTime = usage(day(3), 100);
    const nov = freeze(computeStatement(input(p, [onTime]), "2026-11-01"));
    expect(nov.total).toBe("150.00");
    const late = usage(day(20), 20, { received_at: DEC + 9 * D });
    const s = computeStatement(input(p, [onTime, late], [], { frozen: [nov] }), "2026-12-01");
    expect(lineSummary(s)).toEqual([["commitment_true_up", "1", "150.00"], ["adjustment#2", "20", "10.00"], ["adjustment", "0", "-10.00"]]);
    expect(s.total).toBe("150.00");
  });

  it("a late record that moves a volume total into the next tier adjusts both tier lines", () => {
    // volume 10 @1.00 else 0.50. Nov 10 → 10.00. Late 1 → Nov 11 × 0.50 = 5.50: tier#1 −10 −10.00, tier#2 +11 +5.50
    const p = plan({ model: "tiered", price: volume(["10", "1.00"], [null, "0.50"]) });
    const onTime = usage(day(3), 10);
    const nov = freeze(computeStatement(input(p, [onTime]), "2026-11-01"));
    const late = usage(day(20), 1, { received_at: DEC + 9 * D });
    const s = computeStatement(input(p, [onTime, late], [], { frozen: [nov] }), "2026-12-01");
    expect(lineSummary(s)).toEqual([["adjustment#2", "11", "5.50"], ["adjustment#1", "-10", "-10.00"]]);
    expect(s.total).toBe("-4.50");
  });

  it("a session across the period end whose record arrives after the close: the November part is an adjustment", () => {
    // hourly increment; one record Nov 30 23:30 → Dec 1 00:30 received 10 Dec.
    // Nov piece: cum 0→30 min, billed 0→60 → 1 unit (late: adjustment in Dec). Dec piece: billed 60→60 → 0.
    const p = plan({ model: "pay_per_use", price: graduated([null, "3"]), rounding: { increment_s: 3600, minimum_s: 0, grace_s: 0 } });
    const nov = freeze(computeStatement(input(p, []), "2026-11-01"));
    const rec = usage(DEC - 30 * MIN, 1, { received_at: DEC + 9 * D });
    const s = computeStatement(input(p, [rec], [], { frozen: [nov] }), "2026-12-01");
    expect(lineSummary(s)).toEqual([["adjustment#1", "1", "3.00"]]);
  });

  it("a grant expiring mid-session under a hybrid plan: included first, then the grant until it expires, then price", () => {
    // hybrid fixed 10, included 2, price 1. Grant 5 expiring Nov 3 00:00. Session Nov 2 20:00 → Nov 3 06:00 (10 h).
    // Segment [Nov 1, Nov 3): 4 h → included 2, grant 2. Segment [Nov 3, …): 6 h → grant expired → 6 × 1 = 6.00.
    const p = plan({ model: "hybrid", fixed_fee: "10", included_units: "2", price: graduated([null, "1"]) });
    const inp = input(p, [usage(day(2) + 20 * H, 10)], [{ id: "g", amount: "5", created_at: NOV, expires_at: day(3) }]);
    const s = computeStatement(inp, "2026-11-01");
    expect(lineSummary(s)).toEqual([["fixed_fee", "1", "10.00"], ["prepaid_usage", "2", "0.00"], ["prepaid_usage", "2", "0.00"], ["tier#1", "6", "6.00"]]);
    const b = computeBalance(inp, day(3) + 7 * H);
    expect(b).toMatchObject({ granted_units: "0", overage_units: "6", status: "exhausted" });
  });
});

describe("a grant back-dated into a period closed when it was created", () => {
  it("expiring before it can start, it re-cuts no closed segment: a frozen line names the same records", () => {
    // G1 100 from 1 Nov; 10 h on 5 Nov (c:1) and 10 h on 25 Nov (c:2): November freezes with grant:G1 = 20,
    // traced to c:1 and c:2. On 5 Dec (November closed 4 Dec) G2 is created for 10–20 Nov: it is active
    // from 1 Dec at the earliest, so it never burns — and its expiry (20 Nov) must not split November's
    // segment, which moved c:2 out of the range grant:G1 was frozen with (it named c:1 only).
    const p = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
    const contract = { start: "2026-11-01", timezone: "UTC", period: "month" as const };
    const grants: GrantInput[] = [{ id: "G1", amount: "100", created_at: NOV }];
    const store = new MemoryLiveStore();
    const ledger = new LiveLedger(store, pricingTerms(contract, [{ effective_at: NOV, plan: p }], grants));
    const figures = new LiveStatements(ledger);
    ledger.add([usage(NOV + 4 * D, 10, { ref: "c:1" }), usage(NOV + 24 * D, 10, { ref: "c:2" })]);
    expect(figures.freezeDue(DEC + 4 * D).map(lineSummary)).toEqual([[["prepaid_usage", "20", "0.00"]]]);
    const nov = periodStarting(contract, "2026-11-01");
    const frozen = store.frozenLine(nov.index, "grant:G1")!;
    const trace = () => traceLine(store, { ranges: frozen.ranges, period: nov.index, lateOnly: false }, null, 10).runs;
    expect(trace()).toEqual([{ source: "c", first_seq: 1, last_seq: 2 }]);

    grants.push({ id: "G2", amount: "5", created_at: DEC + 5 * D, effective_at: NOV + 9 * D, expires_at: NOV + 19 * D });
    const terms = pricingTerms(contract, [{ effective_at: NOV, plan: p }], grants);
    expect(terms.boundaries).toEqual([]);
    const change = grantChange(terms, "G2");
    expect(change.rerate).toBeNull();
    ledger.termsChanged(terms, change.rerate, change.foldFrom);
    while (ledger.meta.job) ledger.rerateChunk();
    expect(trace()).toEqual([{ source: "c", first_seq: 1, last_seq: 2 }]);
    expect(figures.balance(DEC + 6 * D)).toMatchObject({ granted_units: "100", remaining_units: "80" });
  });
});

describe("adversarial contracts: draws, rates and rounding", () => {
  it("daily tokens running out mid-day: the grant takes the first draws, the rest is overage", () => {
    // token, CAD 7 per user-day, price 2. Grant 10. Ann 2 Nov 09:00 (draw 7), Bob 10:00 (draw 7),
    // Ann 15:00 (covered). 14 units: grant 10, overage 4 × 2 = 8.00; remaining 0 → exhausted.
    const p = plan({ model: "token", overage: { policy: "allow" }, rates: { CAD: { per: "use_window", units: "7" } }, price: graduated([null, "2"]) });
    const at = (h: number) => NOV + D + h * H;
    const inp = input(p, [
      usage(at(9), 1, { feature: "CAD", user: "ann" }), usage(at(10), 1, { feature: "CAD", user: "bob" }), usage(at(15), 2, { feature: "CAD", user: "ann" }),
    ], [{ id: "g", amount: "10", created_at: NOV }]);
    const b = computeBalance(inp, at(20));
    expect(b).toMatchObject({ remaining_units: "0", overage_units: "4", status: "exhausted", charges: { total: "8.00" } });
    expect(b.usage.by_feature).toEqual([{ feature: "CAD", units: "14", draws: 2, license_seconds: 14400, billed_license_seconds: 14400 }]);
  });

  it("a named rate wins over '*', an explicit '0' is rated, a feature with neither is unrated", () => {
    // MATLAB 2 h × 1.5 = 3; Simulink via "*" 2 h × 0.5 = 1; Free "0" → 0 (rated); Other: no rate in a plan without "*".
    const withStar = plan({ model: "pay_per_use", price: graduated([null, "1"]), rates: { MATLAB: "1.5", Free: "0", "*": "0.5" } });
    const b = computeBalance(input(withStar, [usage(NOV, 2), usage(NOV, 2, { feature: "Simulink" }), usage(NOV, 2, { feature: "Free" })]), NOV + 3 * H);
    expect([b.usage.units, b.usage.unrated_features, b.charges.total]).toEqual(["4", [], "4.00"]);
    const noStar = plan({ model: "pay_per_use", price: graduated([null, "1"]), rates: { MATLAB: "1.5" } });
    const c = computeBalance(input(noStar, [usage(NOV, 2), usage(NOV, 2, { feature: "Other" })]), NOV + 3 * H);
    expect([c.usage.units, c.usage.unrated_features, c.charges.total]).toEqual(["3", ["Other"], "3.00"]);
  });

  it("rounding is per session: one session cut into records bills like the whole, separate sessions round each", () => {
    // increment 15 min. One session of 4 × 10 min = 40 min → billed 45 min = 0.75 units.
    // Four sessions of 10 min → 4 × 15 min = 1 unit.
    const p = plan({ model: "pay_per_use", price: graduated([null, "4"]), rounding: { increment_s: 900, minimum_s: 0, grace_s: 0 } });
    const one = Array.from({ length: 4 }, (_, i) => usage(NOV + H + i * 10 * MIN, 1 / 6, { session: "S" }));
    const four = Array.from({ length: 4 }, (_, i) => usage(NOV + H + i * 10 * MIN, 1 / 6));
    expect(computeStatement(input(p, one), "2026-11-01").total).toBe("3.00");
    expect(computeStatement(input(p, four), "2026-11-01").total).toBe("4.00");
  });

  it("a zero-length interval is refused with a code (the edge quarantines it before rating)", () => {
    const p = plan({ model: "pay_per_use", price: graduated([null, "1"]) });
    expect(() => computeBalance(input(p, [usage(NOV + H, 0)]), NOV + 2 * H)).toThrow(expect.objectContaining({ code: "invalid_input" }));
  });
});

describe("a plan version without a price in force for part of a period whose policy bills overage", () => {
  it("allow, then block (no price) from the 16th: the period's policy still bills, at the period-start version's price", () => {
    // Policy and price: period-level terms come from the version at the period start (allow, 2.00).
    // Grant 2; 5 h on 2 Nov, 5 h on 17 Nov → grant 2, overage 3 + 5 = 8 × 2.00 = 16.00, nothing unbilled.
    // The chunk after the 16th had no tier table to be priced with: pricing threw a TypeError
    // (statement, balance and the period's freeze all failed).
    const allow = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "2"]) });
    const block = plan({ model: "prepaid_overage", overage: { policy: "block" } });
    const NOV16 = NOV + 15 * D;
    const inp = input([{ effective_at: NOV, plan: allow }, { effective_at: NOV16, plan: block }], [usage(NOV + D, 5), usage(NOV16 + D, 5)], [{ id: "g", amount: "2", created_at: NOV }]);
    const s = computeStatement(inp, "2026-11-01");
    expect(lineSummary(s)).toEqual([["prepaid_usage", "2", "0.00"], ["overage#1", "8", "16.00"]]);
    expect(computeBalance(inp, NOV16 + 2 * D)).toMatchObject({ overage_units: "8", unbilled_overage_units: "0", status: "exhausted", charges: { total: "16.00" } });
    // December: block is in force from its start → 1 h is unbilled, status blocked.
    const dec = computeBalance({ ...inp, intervals: [...inp.intervals, usage(DEC + H, 1)] }, DEC + 2 * H);
    expect(dec).toMatchObject({ overage_units: "1", unbilled_overage_units: "1", status: "blocked", charges: { total: "0.00" } });
  });

  it("the same in volume mode", () => {
    // limit 100 with volume 10 @ 1.00 else 0.50; block from the 16th. 12 overage units in all → tier 2: 12 × 0.50 = 6.00
    const limit = plan({ model: "prepaid_overage", overage: { policy: "limit", limit_units: "100" }, price: volume(["10", "1.00"], [null, "0.50"]) });
    const block = plan({ model: "prepaid_overage", overage: { policy: "block" } });
    const NOV16 = NOV + 15 * D;
    const inp = input([{ effective_at: NOV, plan: limit }, { effective_at: NOV16, plan: block }], [usage(NOV + D, 6), usage(NOV16 + D, 6)]);
    expect(lineSummary(computeStatement(inp, "2026-11-01"))).toEqual([["overage#2", "12", "6.00"]]);
  });
});

describe("adversarial contracts: a grant carried into the next period expires mid-session", () => {
  it("the carried remainder burns until the expiry, the next grant by priority after it", () => {
    // G (10, priority 0, expires 15 Dec 00:00), H (20, priority 1, never). Nov: 6 h → G 6 (4 left, carried).
    // Dec: one session 14 Dec 20:00 → 15 Dec 06:00 (10 h): before the expiry 4 h → G 4; after it 6 h → H 6.
    // No overage; H has 14 left; G is gone from the balance.
    const p = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
    const DEC15 = DEC + 14 * D;
    const inp = input(p, [usage(NOV + 2 * D, 6), usage(DEC15 - 4 * H, 10, { session: "S" })], [
      { id: "G", amount: "10", created_at: NOV, expires_at: DEC15 }, { id: "H", amount: "20", priority: 1, created_at: NOV },
    ]);
    expect(lineSummary(computeStatement(inp, "2026-12-01"))).toEqual([["prepaid_usage", "4", "0.00"], ["prepaid_usage", "6", "0.00"]]);
    const b = computeBalance(inp, DEC15 + 7 * H);
    expect([b.grants.map((g) => [g.id, g.remaining]), b.overage_units, b.status]).toEqual([[["H", "14"]], "0", "ok"]);
  });
});
