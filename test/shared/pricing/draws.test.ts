// Draws (DESIGN §5 "Feature → units", issue 15), hand-computed: daily use windows (Autodesk Flex),
// a use exactly at a window's end, windows across a period boundary and a grant expiry, a late use
// that shifts later windows (pure oracle and live ledger agree, adjustments after the close), and
// credits per job (checkout).
import { describe, expect, it } from "vitest";
import {
  computeBalance, computeStatement, drawLineOf, LiveLedger, LiveStatements, periodStarting, pricingTerms, traceDrawLine, traceLine, type Statement, type UsageInterval,
} from "../../../shared/pricing/index.ts";
import { DEC, H, NOV, graduated, input, lineSummary, plan, traceRefs, usage } from "./contract-fixture.ts";
import { MemoryLiveStore } from "./memory-live-store.ts";

const DAY = 24 * H;
const at = (day: number, hour: number) => NOV + (day - 1) * DAY + hour * H;
const daily = plan({ model: "pay_per_use", rates: { CAD: { per: "use_window", units: "7" } }, price: graduated([null, "2"]) });
const cad = (start: number, hours: number, user: string, over: Partial<UsageInterval> = {}) => usage(start, hours, { feature: "CAD", user, ...over });
const feature = (b: ReturnType<typeof computeBalance>, name: string) => b.usage.by_feature.find((f) => f.feature === name);

describe("use windows", () => {
  it("Autodesk-Flex daily tokens: one draw per user per product per 24 h; a use exactly at the window's end opens a new one", () => {
    const uses = [
      cad(at(2, 9), 1, "ann"), // opens ann's window [2 Nov 09:00, 3 Nov 09:00)
      cad(at(2, 15), 2, "ann"), // covered
      cad(at(2, 10), 1, "bob"), // bob's own window
      cad(at(3, 9), 1, "ann"), // exactly at the end: a new window
    ];
    const b = computeBalance(input(daily, uses), at(5, 0));
    // 3 draws × 7 = 21 units; license time is still reported (5 h), but not charged
    expect(feature(b, "CAD")).toEqual({ feature: "CAD", units: "21", draws: 3, license_seconds: 5 * 3600, billed_license_seconds: 5 * 3600 });
    expect(b.charges.usage).toBe("42.00");
  });

  it("a window open across a period end counts in the period it opened in and covers uses after the end", () => {
    const uses = [cad(at(30, 20), 1, "ann"), cad(DEC + 10 * H, 1, "ann"), cad(DEC + 20 * H, 1, "ann")];
    const nov = computeBalance(input(daily, uses), DEC - 1);
    expect(feature(nov, "CAD")).toMatchObject({ units: "7", draws: 1 });
    // 1 Dec 10:00 is inside [30 Nov 20:00, 1 Dec 20:00); 1 Dec 20:00 is its end: a new window in December
    const dec = computeBalance(input(daily, uses), DEC + DAY);
    expect(feature(dec, "CAD")).toMatchObject({ units: "7", draws: 1, license_seconds: 7200 });
  });

  it("a draw burns the grant active when its window opens, even when the grant expires inside the window", () => {
    const token = plan({ model: "token", overage: { policy: "allow" }, rates: { CAD: { per: "use_window", units: "7" } }, price: graduated([null, "1"]) });
    const grants = [{ id: "G", amount: "10", created_at: NOV, expires_at: at(10, 12) }];
    const uses = [cad(at(10, 8), 1, "ann"), cad(at(10, 14), 1, "ann"), cad(at(11, 8), 1, "ann")];
    // 10 Nov 08:00 opens a window (7 from G, 3 left); 14:00 is covered; 11 Nov 08:00 opens one after G expired: 7 overage
    const s = computeStatement(input(token, uses, grants), "2026-11-01");
    expect(lineSummary(s)).toEqual([["draws", "2", "0.00"], ["prepaid_usage", "7", "0.00"], ["overage#1", "7", "7.00"]]);
    // The draws line: how many, at how many units each; the units are priced by the other lines.
    expect(s.lines[0]).toMatchObject({ id: `draws:${NOV}:CAD`, feature: "CAD", quantity: "2", unit_price: "7", amount: "0.00" });
    const b = computeBalance(input(token, uses, grants), at(12, 0));
    expect([feature(b, "CAD")?.draws, b.overage_units]).toEqual([2, "7"]);
  });

  it("a key of [\"user\"] shares windows across features; the opener's feature and units count", () => {
    const perUser = plan({ model: "pay_per_use", rates: { "*": { per: "use_window", units: "1", window_s: 3600, key: ["user"] }, B: { per: "use_window", units: "4", window_s: 3600, key: ["user"] } }, price: graduated([null, "1"]) });
    const uses = [usage(at(2, 9), 0.25, { feature: "A", user: "ann" }), usage(at(2, 9.5), 0.25, { feature: "B", user: "ann" }), usage(at(2, 10), 0.25, { feature: "B", user: "ann" })];
    const b = computeBalance(input(perUser, uses), at(3, 0));
    expect(b.usage.by_feature.map((f) => [f.feature, f.units, f.draws])).toEqual([["A", "1", 1], ["B", "4", 1]]);
  });

  describe("a late use that opens an earlier window re-windows its key", () => {
    // 6-hour windows. On time: 30 Nov 14:00 opens [14:00, 20:00); 19:00 is covered; 1 Dec 01:00 opens
    // December's window. Then 30 Nov 13:00 arrives on 10 Dec (after November closed on 4 Dec):
    // [13:00, 19:00) covers 14:00; 19:00 now opens [19:00, 1 Dec 01:00); 1 Dec 01:00 is exactly its end
    // and still opens a window. November: 2 draws instead of 1 → an adjustment of +7 units (14.00).
    const six = plan({ model: "pay_per_use", rates: { CAD: { per: "use_window", units: "7", window_s: 6 * 3600 } }, price: graduated([null, "2"]) });
    const onTime = [cad(at(30, 14), 1, "ann", { ref: "c:1" }), cad(at(30, 19), 0.5, "ann", { ref: "c:2" }), cad(DEC + H, 1, "ann", { ref: "c:3" })];
    const late = cad(at(30, 13), 0.5, "ann", { ref: "c:4", received_at: DEC + 9 * DAY });
    const novClose = DEC + 72 * H;

    it("in the pure fold", () => {
      const novFrozen: Statement = { ...computeStatement(input(six, onTime), "2026-11-01"), state: "closed" };
      expect(lineSummary(novFrozen)).toEqual([["draws", "1", "0.00"], ["tier#1", "7", "14.00"]]);
      const inp = input(six, [...onTime, late], [], { frozen: [novFrozen] });
      const dec = computeStatement(inp, "2026-12-01");
      // November gains a draw (adjusted, 0.00) and its 7 units at the tier price.
      expect(lineSummary(dec)).toEqual([["draws", "1", "0.00"], ["tier#1", "7", "14.00"], ["adjustment", "1", "0.00"], ["adjustment#1", "7", "14.00"]]);
      // The adjustment names the late record that opened the earlier window.
      expect(traceRefs(inp, "2026-12-01", dec.lines[3]!.id)).toEqual(["c:4"]);
      // Without the close, November simply has 2 draws: 30 Nov 13:00 and 19:00.
      expect(feature(computeBalance(input(six, [...onTime, late]), DEC - 1), "CAD")).toMatchObject({ units: "14", draws: 2 });
    });

    it("in the live ledger, whatever the batching", () => {
      for (const batches of [[onTime, [late]], [[onTime[2]!], [onTime[0]!, onTime[1]!], [late]]]) {
        const terms = pricingTerms({ start: "2026-11-01", timezone: "UTC", period: "month" }, [{ effective_at: NOV, plan: six }], []);
        const ledger = new LiveLedger(new MemoryLiveStore(), terms);
        const figures = new LiveStatements(ledger);
        for (const b of batches.slice(0, -1)) ledger.add(b);
        expect(figures.freezeDue(novClose).map(lineSummary)).toEqual([[["draws", "1", "0.00"], ["tier#1", "7", "14.00"]]]);
        ledger.add(batches[batches.length - 1]!);
        expect(lineSummary(figures.statement(periodStarting(terms.contract, "2026-12-01"))))
          .toEqual([["draws", "1", "0.00"], ["tier#1", "7", "14.00"], ["adjustment", "1", "0.00"], ["adjustment#1", "7", "14.00"]]);
        expect(feature(figures.balance(DEC + 10 * DAY), "CAD")).toMatchObject({ units: "7", draws: 1 });
        // The adjustment of November's draws line names the late record only (19:00's record arrived on time).
        const dec = periodStarting(terms.contract, "2026-12-01");
        const adj = figures.pricedLines(dec).find((l) => l.id.startsWith("adj:") && l.id.includes(":draws:"))!;
        expect(traceDrawLine(ledger.store, terms, drawLineOf(terms, adj.id, dec.index)!, null, 10).runs).toEqual([{ source: "c", first_seq: 4, last_seq: 4 }]);
      }
    });
  });
});

describe("a late use shifts every later window of its key in a chain", () => {
  // 6-hour windows on 2 Nov, uses at 01:00, 06:30, 07:00, 12:30, 13:00 → windows open at 01:00, 07:00, 13:00.
  // A use at 00:30 arriving last: [00:30, 06:30) covers 01:00; 06:30 opens [06:30, 12:30), covering
  // 07:00; 12:30 opens [12:30, 18:30), covering 13:00 — still 3 draws, every one opened by another record.
  const six = plan({ model: "pay_per_use", rates: { CAD: { per: "use_window", units: "7", window_s: 6 * 3600 } }, price: graduated([null, "2"]) });
  const uses = [1, 6.5, 7, 12.5, 13].map((h, i) => cad(at(2, h), 0.25, "ann", { ref: `c:${i + 1}`, session: `c:s${i + 1}` }));
  const late = cad(at(2, 0.5), 0.25, "ann", { ref: "c:9", session: "c:s9" });

  it("pure and live agree, in any batching", () => {
    const pure = computeStatement(input(six, [...uses, late]), "2026-11-01");
    expect(lineSummary(pure)).toEqual([["draws", "3", "0.00"], ["tier#1", "21", "42.00"]]);
    expect(traceRefs(input(six, [...uses, late]), "2026-11-01", pure.lines[1]!.id)).toEqual(["c:9", "c:2", "c:4"]);
    for (const size of [1, 2, 5]) {
      const terms = pricingTerms({ start: "2026-11-01", timezone: "UTC", period: "month" }, [{ effective_at: NOV, plan: six }], []);
      const store = new MemoryLiveStore();
      const ledger = new LiveLedger(store, terms);
      for (let i = 0; i < uses.length; i += size) ledger.add(uses.slice(i, i + size));
      expect(feature(new LiveStatements(ledger).balance(at(3, 0)), "CAD")).toMatchObject({ units: "21", draws: 3 });
      ledger.add([late]);
      const nov = periodStarting(terms.contract, "2026-11-01");
      const figures = new LiveStatements(ledger);
      expect(figures.statement(nov)).toEqual(pure);
      const line = figures.pricedLines(nov).find((l) => l.kind === "tier")!;
      expect(traceLine(store, { ranges: line.ranges, period: nov.index, lateOnly: false }, null, 10).runs)
        .toEqual([{ source: "c", first_seq: 9, last_seq: 9 }, { source: "c", first_seq: 2, last_seq: 2 }, { source: "c", first_seq: 4, last_seq: 4 }]);
      // The draws line names the same openers, paged one run at a time.
      const draws = drawLineOf(terms, figures.pricedLines(nov).find((l) => l.kind === "draws")!.id, nov.index)!;
      const first = traceDrawLine(store, terms, draws, null, 1);
      expect(first.runs).toEqual([{ source: "c", first_seq: 9, last_seq: 9 }]);
      expect(traceDrawLine(store, terms, draws, first.next, 10)).toEqual({ runs: [{ source: "c", first_seq: 2, last_seq: 2 }, { source: "c", first_seq: 4, last_seq: 4 }], next: null });
    }
  });
});

describe("checkouts (credits per job)", () => {
  const credits = plan({ model: "pay_per_use", rates: { SOLVER: { per: "checkout", units: "3" }, "*": "1" }, price: graduated([null, "0.5"]) });

  it("each session draws units × count once, at its start, whatever its length or cuts", () => {
    const job = [usage(at(3, 8), 2, { feature: "SOLVER", session: "j1", count: 2 }), usage(at(3, 10), 5, { feature: "SOLVER", session: "j1", count: 2 })];
    const other = usage(at(4, 8), 0.1, { feature: "SOLVER", session: "j2" });
    const hours = usage(at(4, 9), 2, { feature: "PRE" });
    const b = computeBalance(input(credits, [...job, other, hours]), at(5, 0));
    // j1: 3 × 2 = 6, j2: 3 × 1 = 3; PRE: 2 license-hours × 1
    expect(b.usage.by_feature.map((f) => [f.feature, f.units, f.draws])).toEqual([["PRE", "2", 0], ["SOLVER", "9", 3]]);
    expect(b.usage.units).toBe("11");
    // Statement: the draws line counts checkouts at 3 units each; the tier prices all 11 units at 0.50.
    const s = computeStatement(input(credits, [...job, other, hours]), "2026-11-01");
    expect(s.lines.map((l) => [l.kind, l.feature ?? null, l.quantity, l.unit_price ?? null, l.amount]))
      .toEqual([["draws", "SOLVER", "3", "3", "0.00"], ["tier", null, "11", "0.5", "5.50"]]);
  });
});
