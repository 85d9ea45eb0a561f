// Grant burn order and lifetimes (DESIGN §6). Rate "*" = 1: one license-hour is one token.
import { describe, expect, it } from "vitest";
import { computeBalance, computeStatement, LiveLedger, LiveStatements, pricingTerms } from "../../../shared/pricing/index.ts";
import { MemoryLiveStore } from "./memory-live-store.ts";
import { DEC, H, NOV, graduated, input, lineSummary, plan, usage } from "./contract-fixture.ts";

const prepaid = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
const day = (d: number) => NOV + (d - 1) * 24 * H;

describe("grants", () => {
  it("a grant burns only usage before its expiry, even mid-session", () => {
    // Grant A (10) expires 10 Nov 00:00. Session 9 Nov 20:00 → 10 Nov 04:00, 2 licenses:
    // 4 h × 2 = 8 tokens before expiry burn A; 4 h × 2 = 8 after are overage → 8.00.
    const inp = input(prepaid, [usage(day(9) + 20 * H, 8, { count: 2 })], [{ id: "A", amount: "10", created_at: NOV, expires_at: day(10) }]);
    expect(lineSummary(computeStatement(inp, "2026-11-01"))).toEqual([["prepaid_usage", "8", "0.00"], ["overage#1", "8", "8.00"]]);
    // A's 2 left expired with it: it is no longer counted as remaining
    const b = computeBalance(inp, day(11));
    expect([b.grants.length, b.remaining_units, b.overage_units]).toEqual([0, "0", "8"]);
  });

  it("equal priority: the grant expiring first burns first, whatever the creation order", () => {
    // C (5, never expires) created before B (5, expires 1 Dec). 7 tokens: B gives 5, C gives 2.
    const inp = input(prepaid, [usage(day(3), 7)], [
      { id: "C", amount: "5", created_at: NOV },
      { id: "B", amount: "5", created_at: NOV + H, expires_at: DEC },
    ]);
    const b = computeBalance(inp, day(4));
    expect(b.grants.map((g) => [g.id, g.remaining])).toEqual([["B", "0"], ["C", "3"]]);
    expect(b.remaining_units).toBe("3");
  });

  it("a lower priority number burns first, then the earlier creation", () => {
    const inp = input(prepaid, [usage(day(3), 7)], [
      { id: "late-p0", amount: "4", created_at: NOV + 2 * H },
      { id: "p1", amount: "10", priority: 1, created_at: NOV },
      { id: "early-p0", amount: "4", created_at: NOV + H },
    ]);
    // early-p0 4, late-p0 3 (of 4), p1 untouched
    expect(computeBalance(inp, day(4)).grants.map((g) => [g.id, g.remaining])).toEqual([["early-p0", "0"], ["late-p0", "1"], ["p1", "10"]]);
  });

  it("a top-up covers the open period's overage (effective from the period start by default)", () => {
    // Grant 10, 15 tokens by 5 Nov → 5 overage (5.00). A top-up of 10 created 6 Nov starts 1 Nov:
    // the 15 tokens burn 10 + 5, overage 0, 5 left.
    const first = [{ id: "G1", amount: "10", created_at: NOV }];
    const used = [usage(day(2), 15)];
    expect(computeBalance(input(prepaid, used, first), day(5)).charges.total).toBe("5.00");
    const after = computeBalance(input(prepaid, used, [...first, { id: "T", amount: "10", created_at: day(6) }]), day(6) + H);
    expect([after.overage_units, after.remaining_units, after.charges.total, after.grants[1]!.effective_at]).toEqual(["0", "5", "0.00", "2026-11-01T00:00:00Z"]);
  });

  it("a grant never reaches into a period closed before it was created", () => {
    // November closes 4 Dec 00:00 (72 h grace). A grant back-dated to 1 Nov covers November's
    // 5 tokens when created on 2 Dec, but not when created on 5 Dec.
    const used = [usage(day(10), 5)];
    const inGrace = input(prepaid, used, [{ id: "G", amount: "10", created_at: DEC + 24 * H, effective_at: NOV }]);
    const closed = input(prepaid, used, [{ id: "G", amount: "10", created_at: DEC + 4 * 24 * H, effective_at: NOV }]);
    expect(computeStatement(inGrace, "2026-11-01").total).toBe("0.00");
    expect(computeStatement(closed, "2026-11-01").total).toBe("5.00");
    expect(computeBalance(closed, DEC + 5 * 24 * H).remaining_units).toBe("10");
  });

  it("carries a never-expiring grant's remainder into later periods", () => {
    // 30 granted; 12 used in November, 12 in December → 6 left
    const inp = input(prepaid, [usage(day(2), 12), usage(DEC + H, 12)], [{ id: "G", amount: "30", created_at: NOV }]);
    expect(computeBalance(inp, DEC + 20 * H).remaining_units).toBe("6");
  });
});

describe("a contract topped up every month", () => {
  it("grants used up before the open period are history: the balance counts the live ones, so a fresh top-up is not 'low'", () => {
    // A 100-token never-expiring grant on the 1st of each month, each used up within its month,
    // for a year; then month 13's grant with 15 used. Counting the used-up grants, 85 left of
    // "1,300 granted" was 6.5 %: low (threshold 20 %) the moment the new grant arrived.
    const month = (i: number) => Date.UTC(2026, 10 + i, 1);
    const grants = Array.from({ length: 13 }, (_, i) => ({ id: `m${String(i + 1).padStart(2, "0")}`, amount: "100", created_at: month(i) }));
    const uses = Array.from({ length: 12 }, (_, i) => usage(month(i) + H, 100));
    const early = computeBalance(input(prepaid, [...uses, usage(month(12) + H, 15)], grants), month(12) + 20 * H);
    expect(early).toMatchObject({ granted_units: "100", remaining_units: "85", status: "ok" });
    expect(early.grants.map((g) => [g.id, g.remaining])).toEqual([["m13", "85"]]);
    // A grant used up inside the open period still counts there: the month shows what it had.
    const spent = computeBalance(input(prepaid, [...uses, usage(month(12) + H, 100)], grants), month(12) + 200 * H);
    expect(spent).toMatchObject({ granted_units: "100", remaining_units: "0", status: "exhausted" });
    expect(spent.grants.map((g) => g.id)).toEqual(["m13"]);
    // And the month after, with no top-up: nothing live, still exhausted.
    expect(computeBalance(input(prepaid, [...uses, usage(month(12) + H, 100)], grants), month(13) + H)).toMatchObject({ granted_units: "0", remaining_units: "0", status: "exhausted", grants: [] });
  });
});

describe("thousands of grants", () => {
  it("used up, they leave the state carried between periods: it holds the live grants only, and the balance is the oracle's", () => {
    // 2,000 one-token grants (never expiring) used up in November, then a 10-token top-up in December.
    const grants = Array.from({ length: 2000 }, (_, i) => ({ id: `g${String(i).padStart(4, "0")}`, amount: "1", created_at: NOV }));
    grants.push({ id: "top-up", amount: "10", created_at: DEC });
    const p = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
    const uses = [usage(NOV + H, 10, { count: 250 }), usage(DEC + H, 3)];
    const inp = input(p, uses, grants);
    const store = new MemoryLiveStore();
    const ledger = new LiveLedger(store, pricingTerms(inp.contract, inp.plans, grants));
    ledger.add([uses[0]!]);
    ledger.add([uses[1]!]);
    // Before, every used-up grant stayed in the state with 0 left: 2,000 entries per period, for good.
    expect(store.foldEnd(0)!.size).toBeLessThanOrEqual(1);
    expect([...store.foldEnd(1)!].filter(([id]) => id !== "")).toEqual([["top-up", 7n * 3_600_000n * 10n ** 12n]]);
    const asOf = DEC + 20 * H;
    const { as_of: _, ...live } = new LiveStatements(ledger).balance(asOf);
    const { as_of: __, ...pure } = computeBalance(inp, asOf);
    expect(live).toEqual(pure);
    expect(pure).toMatchObject({ remaining_units: "7", overage_units: "0", granted_units: "10", status: "ok" });
    expect(pure.grants.map((g) => g.id)).toEqual(["top-up"]);
  });
});

describe("plan versions", () => {
  const v1 = plan({ model: "pay_per_use", price: graduated([null, "1"]) });
  const v2 = plan({ model: "pay_per_use", rates: { "*": "2" }, price: graduated([null, "0.5"]) });
  const versions = [{ effective_at: NOV, plan: v1 }, { effective_at: day(16), plan: v2 }];

  it("usage is rated and priced by the version in force at its time", () => {
    // 10 h on 10 Nov under v1: 10 tokens × 1.00 = 10.00; 10 h on 20 Nov under v2: 20 tokens × 0.5 = 10.00
    const s = computeStatement(input(versions, [usage(day(10), 10), usage(day(20), 10)]), "2026-11-01");
    expect(lineSummary(s)).toEqual([["tier#1", "10", "10.00"], ["tier#1", "20", "10.00"]]);
    expect(s.total).toBe("20.00");
  });

  it("a session across the change is split at effective_at", () => {
    // 15 Nov 23:00 → 16 Nov 01:00: 1 h at rate 1 + 1 h at rate 2 = 3 tokens
    const b = computeBalance(input(versions, [usage(day(16) - H, 2)]), day(16) + 2 * H);
    expect(b.usage.units).toBe("3");
  });

  it("a contract whose only grant starts next period is ok, not exhausted; once its grants have begun and none is left, it is", () => {
    const next = [{ id: "N", amount: "10", created_at: day(5), effective_at: DEC }];
    const before = computeBalance(input(prepaid, [usage(day(3), 2)], next), day(6));
    expect({ status: before.status, granted: before.granted_units, remaining: before.remaining_units, grants: before.grants.length })
      .toEqual({ status: "ok", granted: "0", remaining: "0", grants: 0 });
    const expired = [{ id: "E", amount: "1", created_at: NOV, expires_at: day(4) }];
    expect(computeBalance(input(prepaid, [usage(day(3), 2)], expired), day(6)).status).toBe("exhausted");
  });
});
