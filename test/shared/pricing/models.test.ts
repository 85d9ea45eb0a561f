// Worked examples per model. Rate "*" = 1, so one license-hour is one token; UTC November 2026.
import { describe, expect, it } from "vitest";
import { computeBalance, computeStatement } from "../../../shared/pricing/index.ts";
import { H, NOV, graduated, input, lineSummary, plan, usage, volume } from "./contract-fixture.ts";

const statement = (p: ReturnType<typeof plan>, hours: number[], grants: Parameters<typeof input>[2] = []) =>
  computeStatement(input(p, hours.map((h, i) => usage(NOV + i * 24 * H, h)), grants), "2026-11-01");

describe("pay_per_use", () => {
  const p = plan({ model: "pay_per_use", price: graduated(["10", "0.40", "5"], [null, "0.30", "2"]) });

  it("graduated: each unit at its tier, the flat fee of every tier entered", () => {
    // 15 tokens: 10 × 0.40 = 4.00, 5 × 0.30 = 1.50, flat 5.00 + 2.00 → 12.50
    const s = statement(p, [8, 7]);
    expect(lineSummary(s)).toEqual([["tier#1", "10", "4.00"], ["tier#2", "5", "1.50"], ["tier_flat_fee#1", "1", "5.00"], ["tier_flat_fee#2", "1", "2.00"]]);
    expect(s.total).toBe("12.50");
  });

  it("usage exactly at up_to stays in that tier", () => {
    // 10 tokens: 10 × 0.40 = 4.00 + tier 1 flat 5.00 → 9.00; tier 2 is not entered
    expect(lineSummary(statement(p, [10]))).toEqual([["tier#1", "10", "4.00"], ["tier_flat_fee#1", "1", "5.00"]]);
  });

  it("charges the first tier's flat fee at zero usage", () => {
    const s = statement(p, []);
    expect(lineSummary(s)).toEqual([["tier_flat_fee#1", "1", "5.00"]]);
    expect(s.total).toBe("5.00");
  });

  it("rounds each line half away from zero to the currency's minor unit", () => {
    // 1 token × 0.005 = 0.005 → 0.01; in JPY 3 tokens × 0.5 = 1.5 → 2
    expect(statement(plan({ model: "pay_per_use", price: graduated([null, "0.005"]) }), [1]).total).toBe("0.01");
    expect(statement(plan({ model: "pay_per_use", currency: "JPY", price: graduated([null, "0.5"]) }), [3]).total).toBe("2");
  });
});

describe("tiered", () => {
  it("volume: all units at the tier containing the total, only that tier's flat fee", () => {
    const p = plan({ model: "tiered", price: volume(["10", "0.40"], [null, "0.30", "3"]) });
    // 10 tokens: 10 × 0.40 = 4.00 (tier 1 has no flat fee)
    expect(lineSummary(statement(p, [10]))).toEqual([["tier#1", "10", "4.00"]]);
    // 12 tokens: 12 × 0.30 = 3.60 + 3.00 → 6.60
    const s = statement(p, [12]);
    expect(lineSummary(s)).toEqual([["tier#2", "12", "3.60"], ["tier_flat_fee#2", "1", "3.00"]]);
    expect(s.total).toBe("6.60");
  });

  it("tops up to the minimum commitment after the other lines", () => {
    // 120 tokens: 100 × 1 + 20 × 0.5 = 110.00; commitment 150 → true-up 40.00
    const p = plan({ model: "tiered", price: graduated(["100", "1"], [null, "0.5"]), minimum_commitment: "150" });
    const s = statement(p, [120]);
    expect(lineSummary(s)).toEqual([["tier#1", "100", "100.00"], ["tier#2", "20", "10.00"], ["commitment_true_up", "1", "40.00"]]);
    expect(s.total).toBe("150.00");
    expect(statement(p, [400]).lines.some((l) => l.kind === "commitment_true_up")).toBe(false); // 100 + 150 = 250 ≥ 150
  });
});

describe("hybrid", () => {
  const p = plan({ model: "hybrid", fixed_fee: "100", included_units: "50", price: graduated([null, "2", "7"]) });

  it("bills the fixed fee, uses included units first, prices the rest", () => {
    // 60 tokens: 50 included, 10 × 2 = 20.00 + tier flat 7.00 + fixed 100.00 → 127.00
    const s = statement(p, [30, 30]);
    expect(lineSummary(s)).toEqual([["fixed_fee", "1", "100.00"], ["prepaid_usage", "50", "0.00"], ["tier#1", "10", "20.00"], ["tier_flat_fee#1", "1", "7.00"]]);
    expect(s.total).toBe("127.00");
  });

  it("does not charge the first tier's flat fee at zero usage", () => {
    expect(lineSummary(statement(p, [40]))).toEqual([["fixed_fee", "1", "100.00"], ["prepaid_usage", "40", "0.00"]]);
  });

  it("uses included units before grants", () => {
    // 70 tokens: 50 included, 20 of grant G (30) → nothing billed; G keeps 10
    const b = computeBalance(input(p, [usage(NOV, 70)], [{ id: "G", amount: "30", created_at: NOV }]), NOV + 80 * H);
    expect(b.grants[0]!.remaining).toBe("10");
    expect(b.charges).toEqual({ fixed: "100.00", usage: "0.00", adjustments: "0.00", total: "100.00" });
  });
});

describe("prepaid_overage and token", () => {
  it("allow: bills what no grant covers at price", () => {
    // grant 100, 120 tokens → 20 × 0.5 = 10.00
    const p = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "0.5"]) });
    const inp = input(p, [usage(NOV, 120)], [{ id: "G", amount: "100", created_at: NOV }]);
    expect(lineSummary(computeStatement(inp, "2026-11-01"))).toEqual([["prepaid_usage", "100", "0.00"], ["overage#1", "20", "10.00"]]);
    const b = computeBalance(inp, NOV + 200 * H);
    expect([b.remaining_units, b.overage_units, b.unbilled_overage_units, b.status]).toEqual(["0", "20", "0", "exhausted"]);
  });

  it("limit: bills up to limit_units, reports the rest and blocks", () => {
    // grant 10, 20 tokens → overage 10, billed 5 × 1 = 5.00, unbilled 5
    const p = plan({ model: "token", overage: { policy: "limit", limit_units: "5" }, price: graduated([null, "1"]) });
    const inp = input(p, [usage(NOV, 20)], [{ id: "G", amount: "10", created_at: NOV }]);
    const b = computeBalance(inp, NOV + 30 * H);
    expect([b.overage_units, b.unbilled_overage_units, b.status, b.charges.total]).toEqual(["10", "5", "blocked", "5.00"]);
  });

  it("block: nothing beyond the grants is billed, all of it reported", () => {
    const p = plan({ model: "token", overage: { policy: "block" } });
    const b = computeBalance(input(p, [usage(NOV, 12)], [{ id: "G", amount: "10", created_at: NOV }]), NOV + 30 * H);
    expect([b.remaining_units, b.overage_units, b.unbilled_overage_units, b.status, b.charges.total]).toEqual(["0", "2", "2", "blocked", "0.00"]);
  });

  it("reports low at or below the threshold of granted units, ok above it", () => {
    const p = plan({ model: "token", overage: { policy: "block" } });
    const at = (hours: number, pct?: number) => computeBalance({ ...input(p, [usage(NOV, hours)], [{ id: "G", amount: "100", created_at: NOV }]), contract: { start: "2026-11-01", timezone: "UTC", period: "month", ...(pct ? { low_threshold_pct: pct } : {}) } }, NOV + 200 * H).status;
    expect(at(79)).toBe("ok"); // 21 left > 20 % of 100
    expect(at(80)).toBe("low"); // 20 left = 20 %
    expect(at(60, 50)).toBe("low");
    expect(at(100)).toBe("exhausted");
  });

  it("a contract that never had a grant reports remaining_units null", () => {
    const b = computeBalance(input(plan({ model: "pay_per_use", price: graduated([null, "1"]) }), [usage(NOV, 1)]), NOV + H);
    expect([b.remaining_units, b.granted_units, b.status]).toEqual([null, "0", "ok"]);
  });
});
