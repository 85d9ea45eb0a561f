// Which records a statement line names (DESIGN §7): within a segment, units are laid out in time
// order of their records and each line takes its own stretch, so a line lists only the records
// whose units it priced — not every record of its period.
import { describe, expect, it } from "vitest";
import { computeStatement } from "../../../shared/pricing/index.ts";
import { H, NOV, graduated, input, lineSummary, plan, traceRefs, usage, volume } from "./contract-fixture.ts";

/** n one-hour records of one unit each, four a day from 2 Nov, refs c:1 … c:n. */
const hourly = (n: number) => Array.from({ length: n }, (_, i) => usage(NOV + (1 + Math.floor(i / 4)) * 24 * H + (i % 4) * H, 1, { ref: `c:${i + 1}`, session: `s${i + 1}` }));
const refs = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `c:${from + i}`);

describe("tracing a line to its records", () => {
  it("after a 99-unit grant, the 1-unit overage line names the 100th record only", () => {
    const inp = input(plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "2"]) }), hourly(100).reverse(), [{ id: "G", amount: "99", created_at: NOV }]);
    // Listed newest first: the grant still takes them in time order.
    const s = computeStatement(inp, "2026-11-01");
    expect(lineSummary(s)).toEqual([["prepaid_usage", "99", "0.00"], ["overage#1", "1", "2.00"]]);
    expect(traceRefs(inp, "2026-11-01", "grant:G")).toEqual(refs(1, 99));
    expect(traceRefs(inp, "2026-11-01", s.lines[1]!.id)).toEqual(["c:100"]);
  });

  it("a record whose units straddle two lines is named by both; graduated tiers split in time order, flat fees name the record entering the tier", () => {
    const used = [usage(NOV + 24 * H, 3, { ref: "c:1" }), usage(NOV + 48 * H, 3, { ref: "c:2" }), usage(NOV + 72 * H, 3, { ref: "c:3" })];
    const inp = input(plan({ model: "pay_per_use", price: graduated(["4", "1"], [null, "0.5", "10"]) }), used);
    const s = computeStatement(inp, "2026-11-01");
    expect(lineSummary(s)).toEqual([["tier#1", "4", "4.00"], ["tier#2", "5", "2.50"], ["tier_flat_fee#2", "1", "10.00"]]);
    expect(traceRefs(inp, "2026-11-01", s.lines[0]!.id)).toEqual(["c:1", "c:2"]);
    expect(traceRefs(inp, "2026-11-01", s.lines[1]!.id)).toEqual(["c:2", "c:3"]);
    expect(traceRefs(inp, "2026-11-01", "tier_flat_fee:2")).toEqual(["c:2"]);
  });

  it("included units come first; a volume tier names all billed records; unbilled overage names none", () => {
    const used = [usage(NOV + 24 * H, 2, { ref: "c:1" }), usage(NOV + 48 * H, 2, { ref: "c:2" }), usage(NOV + 72 * H, 2, { ref: "c:3" })];
    const hybrid = input(plan({ model: "hybrid", fixed_fee: "10", included_units: "2", price: volume(["3", "1"], [null, "0.5"]) }), used);
    const s = computeStatement(hybrid, "2026-11-01");
    expect(s.lines.map((l) => l.id)).toEqual(["fixed_fee", "included", expect.stringMatching(/^tier:/)]);
    expect([traceRefs(hybrid, "2026-11-01", "fixed_fee"), traceRefs(hybrid, "2026-11-01", "included"), traceRefs(hybrid, "2026-11-01", s.lines[2]!.id)])
      .toEqual([[], ["c:1"], ["c:2", "c:3"]]);
    const limited = input(plan({ model: "token", overage: { policy: "limit", limit_units: "1" }, price: graduated([null, "3"]) }), used, [{ id: "G", amount: "2", created_at: NOV }]);
    const t = computeStatement(limited, "2026-11-01");
    expect(lineSummary(t)).toEqual([["prepaid_usage", "2", "0.00"], ["overage#1", "1", "3.00"]]);
    expect(traceRefs(limited, "2026-11-01", t.lines[1]!.id)).toEqual(["c:2"]);
  });
});
