// Late records (DESIGN §5): a record for a closed period is re-rated with that period's terms and
// the difference becomes adjustment lines in the period open when it arrived.
import { describe, expect, it } from "vitest";
import { computeBalance, computeStatement, type Statement } from "../../../shared/pricing/index.ts";
import { DEC, H, JAN, NOV, graduated, input, lineSummary, plan, traceRefs, usage } from "./contract-fixture.ts";

const day = (d: number) => NOV + (d - 1) * 24 * H;
const CLOSE = DEC + 72 * H; // November's statement freezes 4 Dec 00:00

function freeze(s: Statement): Statement { return { ...s, state: "closed" }; }

describe("late records", () => {
  const p = plan({ model: "pay_per_use", price: graduated(["10", "1"], [null, "0.5"]) });
  const onTime = usage(day(10), 10, { ref: "c:1" });

  it("a record for a closed period becomes an adjustment in the period it arrived in, at that period's tiers", () => {
    const novFrozen = freeze(computeStatement(input(p, [onTime]), "2026-11-01"));
    expect(novFrozen.total).toBe("10.00");
    // 5 tokens on 20 Nov received 10 Dec: November re-rated = 10 × 1 + 5 × 0.5 → tier 2 line +5, +2.50
    const late = usage(day(20), 5, { ref: "c:2", received_at: DEC + 9 * 24 * H });
    const dec = usage(DEC + H, 3, { ref: "c:3" });
    const inp = input(p, [onTime, late, dec], [], { frozen: [novFrozen] });
    const s = computeStatement(inp, "2026-12-01");
    expect(lineSummary(s)).toEqual([["tier#1", "3", "3.00"], ["adjustment#2", "5", "2.50"]]);
    expect(s.lines[1]).toMatchObject({ ref_period: "2026-11-01" });
    // The adjustment traces to the late record only.
    expect(traceRefs(inp, "2026-12-01", s.lines[1]!.id)).toEqual(["c:2"]);
    expect(s.total).toBe("5.50");
    // the closed statement itself never changes
    expect(computeStatement(inp, "2026-11-01")).toEqual(novFrozen);
    expect(computeBalance(inp, DEC + 10 * 24 * H).charges).toEqual({ fixed: "0.00", usage: "3.00", adjustments: "2.50", total: "5.50" });
  });

  it("a record arriving within the statement grace is on time", () => {
    const inGrace = usage(day(20), 5, { ref: "c:2", received_at: CLOSE - 1 });
    expect(lineSummary(computeStatement(input(p, [onTime, inGrace]), "2026-11-01"))).toEqual([["tier#1", "10", "10.00"], ["tier#2", "5", "2.50"]]);
    expect(computeStatement(input(p, [onTime, inGrace]), "2026-12-01").lines).toEqual([]);
  });

  it("re-rating a closed period moves grant burn, and period totals do not depend on arrival", () => {
    // Grant 10 (never expires). On time: 6 in Nov, 6 in Dec → Nov burns 6, Dec burns 4 + 2 overage.
    // A late 4 for Nov arriving in Dec: Nov burns 10, Dec's 6 are all overage (6.00), and Dec
    // carries a zero-amount adjustment of Nov's prepaid usage (+4).
    const q = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
    const grants = [{ id: "G", amount: "10", created_at: NOV }];
    const nov = usage(day(5), 6, { ref: "n" });
    const novFrozen = freeze(computeStatement(input(q, [nov], grants), "2026-11-01"));
    const late = usage(day(6), 4, { ref: "late", received_at: DEC + 5 * 24 * H });
    const dec = usage(DEC + 6 * 24 * H, 6, { ref: "d" });
    const s = computeStatement(input(q, [nov, late, dec], grants, { frozen: [novFrozen] }), "2026-12-01");
    expect(lineSummary(s)).toEqual([["overage#1", "6", "6.00"], ["adjustment", "4", "0.00"]]);
    const b = computeBalance(input(q, [dec, late, nov], grants, { frozen: [novFrozen] }), DEC + 7 * 24 * H);
    expect([b.remaining_units, b.overage_units]).toEqual(["0", "6"]);
  });

  it("later arrivals for the same closed period adjust only by what is new", () => {
    const novFrozen = freeze(computeStatement(input(p, [onTime]), "2026-11-01"));
    const inDec = usage(day(20), 2, { ref: "c:2", received_at: DEC + 9 * 24 * H });
    const inJan = usage(day(21), 2, { ref: "c:3", received_at: JAN + 24 * H });
    const base = input(p, [onTime, inDec], [], { frozen: [novFrozen] });
    const decFrozen = freeze(computeStatement(base, "2026-12-01"));
    expect(lineSummary(decFrozen)).toEqual([["adjustment#2", "2", "1.00"]]);
    const jan = computeStatement(input(p, [onTime, inDec, inJan], [], { frozen: [novFrozen, decFrozen] }), "2027-01-01");
    expect(lineSummary(jan)).toEqual([["adjustment#2", "2", "1.00"]]);
    expect(traceRefs(input(p, [onTime, inDec, inJan], [], { frozen: [novFrozen, decFrozen] }), "2027-01-01", jan.lines[0]!.id)).toEqual(["c:3"]);
  });
});
