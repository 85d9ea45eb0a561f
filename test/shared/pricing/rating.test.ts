import { describe, expect, it } from "vitest";
import { billedMs, computeBalance, pricingTerms, rateSession, PricingError } from "../../../shared/pricing/index.ts";
import { DEC, H, MIN, NOV, errorCode, graduated, input, plan, usage } from "./contract-fixture.ts";

const price = graduated([null, "1"]);

describe("rating license-time (DESIGN §5)", () => {
  it("billed(c) applies grace, increment and minimum", () => {
    const r = { increment_ms: 60_000, minimum_ms: 300_000, grace_ms: 30_000 };
    expect(billedMs(0, r)).toBe(0);
    expect(billedMs(20_000, r)).toBe(0); // inside the grace
    expect(billedMs(30_000, r)).toBe(300_000); // minimum 5 min
    expect(billedMs(301_000, r)).toBe(360_000); // rounded up to the next minute
    expect(billedMs(360_000, r)).toBe(360_000);
  });

  it("a session across a period boundary is rounded on its cumulative duration", () => {
    // Hourly increment, count 2. Interval 1 [Nov 30 23:20, Dec 1 00:10), interval 2 [00:10, 00:50).
    // Pieces: [23:20,00:00) cum 0→40 min billed 0→60 min → Nov 60 × 2 = 120 license-min = 2 units.
    //         [00:00,00:10) cum 40→50, billed 60→60 → 0.  [00:10,00:50) cum 50→90, billed 60→120 → Dec 2 units.
    // Whole session: 90 min → billed 120 min × 2 = 4 license-hours = 4 units = 2 + 2.
    const p = plan({ model: "pay_per_use", price, rounding: { increment_s: 3600, minimum_s: 0, grace_s: 0 } });
    const a = usage(DEC - 40 * MIN, 50 / 60, { session: "S", count: 2 });
    const b = usage(DEC + 10 * MIN, 40 / 60, { session: "S", count: 2 });
    const nov = computeBalance(input(p, [a, b]), DEC - 1);
    expect(nov.usage).toMatchObject({ units: "2", license_seconds: 4800, billed_license_seconds: 7200 });
    const dec = computeBalance(input(p, [b, a]), DEC + H);
    expect(dec.usage).toMatchObject({ units: "2", license_seconds: 6000, billed_license_seconds: 7200 });
  });

  it("a minimum is charged once per session, on its first piece", () => {
    // minimum 15 min, increment 1 min: two 5-minute intervals → billed(5)=15, billed(10)=15 → 15 min total.
    const p = plan({ model: "pay_per_use", price, rounding: { increment_s: 60, minimum_s: 900, grace_s: 0 } });
    const t = pricingTerms(input(p, []).contract, [{ effective_at: NOV, plan: p }], []);
    const pieces = rateSession(t, [usage(NOV + H, 5 / 60, { session: "M" }), usage(NOV + H + 5 * MIN, 5 / 60, { session: "M" })]).pieces;
    expect(pieces.map((x) => x.billed_ms)).toEqual([15 * MIN, 0]);
  });

  it("rates features by their own rate, else '*', else 0 and lists them as unrated", () => {
    // MATLAB 2 h × 1.5 = 3 units; Simulink 2 h × 0.25 = 0.5 units (via "*")
    const p = plan({ model: "pay_per_use", price, rates: { MATLAB: "1.5", "*": "0.25" } });
    const b = computeBalance(input(p, [usage(NOV, 2), usage(NOV, 2, { feature: "Simulink" })]), NOV + 3 * H);
    expect(b.usage.by_feature.map((f) => [f.feature, f.units])).toEqual([["MATLAB", "3"], ["Simulink", "0.5"]]);
    const q = plan({ model: "pay_per_use", price, rates: { MATLAB: "1" } });
    const c = computeBalance(input(q, [usage(NOV, 2), usage(NOV, 2, { feature: "Other" })]), NOV + 3 * H);
    expect(c.usage.units).toBe("2");
    expect(c.usage.unrated_features).toEqual(["Other"]);
  });

  it("lists a feature as unrated when a plan version in force for part of the period does not rate it, whichever comes first", () => {
    const both = plan({ model: "pay_per_use", price, rates: { MATLAB: "1", Other: "1" } });
    const matlabOnly = plan({ model: "pay_per_use", price, rates: { MATLAB: "1" } });
    const NOV16 = NOV + 15 * 24 * H;
    const used = [usage(NOV + 24 * H, 2), usage(NOV + 24 * H, 2, { feature: "Other" }), usage(NOV16 + 24 * H, 2), usage(NOV16 + 24 * H, 2, { feature: "Other" })];
    const at = NOV16 + 2 * 24 * H;
    const ratedThenNot = computeBalance(input([{ effective_at: NOV, plan: both }, { effective_at: NOV16, plan: matlabOnly }], used), at);
    expect(ratedThenNot.usage.by_feature.map((f) => [f.feature, f.units])).toEqual([["MATLAB", "4"], ["Other", "2"]]); // Other priced before the 16th only
    expect(ratedThenNot.usage.unrated_features).toEqual(["Other"]);
    const notThenRated = computeBalance(input([{ effective_at: NOV, plan: matlabOnly }, { effective_at: NOV16, plan: both }], used), at);
    expect(notThenRated.usage.unrated_features).toEqual(["Other"]);
    const always = computeBalance(input([{ effective_at: NOV, plan: both }, { effective_at: NOV16, plan: both }], used), at);
    expect(always.usage.unrated_features).toEqual([]);
  });

  it("keeps units exact and prints at most 6 decimals", () => {
    // 1 h × 3 licenses × 0.333333333333 = 0.999999999999 units, shown as "1"
    const p = plan({ model: "pay_per_use", price, rates: { "*": "0.333333333333" } });
    expect(computeBalance(input(p, [usage(NOV, 1, { count: 3 })]), NOV + 2 * H).usage.units).toBe("1");
    // 1 s × 1 × 0.001 = 0.000000277… units → "0"; 3600 s → "0.001"
    const q = plan({ model: "pay_per_use", price, rates: { "*": "0.001" } });
    expect(computeBalance(input(q, [usage(NOV, 1 / 3600)]), NOV + H).usage.units).toBe("0");
    expect(computeBalance(input(q, [usage(NOV, 1)]), NOV + H).usage.units).toBe("0.001");
  });

  it("measures DST days in real elapsed time", () => {
    // 00:30 → 04:30 local on 29 March 2026 in Berlin is 3 real hours (02:00 CET jumps to 03:00 CEST).
    const p = plan({ model: "pay_per_use", price });
    const c = { contract: { start: "2026-03-01", timezone: "Europe/Berlin", period: "month" as const } };
    const start = Date.parse("2026-03-28T23:30:00Z"), end = Date.parse("2026-03-29T02:30:00Z");
    const b = computeBalance({ ...input([{ effective_at: start - 40 * 24 * H, plan: p }], [usage(start, (end - start) / H)]), ...c }, end);
    expect(b.usage.units).toBe("3");
    expect(b.period.start).toBe("2026-02-28T23:00:00Z");
  });

  it("refuses an interval that cannot be rated, with a code", () => {
    const p = plan({ model: "pay_per_use", price });
    expect(() => computeBalance(input(p, [usage(NOV, 1, { end: NOV })]), NOV)).toThrow(PricingError);
    expect(errorCode(() => computeBalance(input(p, [usage(NOV, 1, { end: NOV })]), NOV))).toBe("invalid_input");
    expect(errorCode(() => computeBalance(input(p, [usage(NOV - H, 1)]), NOV))).toBe("before_contract_start");
  });
});
