// The usage ledger the folds read (docs/pricing.md): buckets of rated pieces that count their pieces
// and never list them, so they do not grow with history.
import { describe, expect, it } from "vitest";
import { addPieces, balanceFromLedger, computeBalance, emptyLedger, ledgerFromIntervals, pricingTerms, rateIntervals, removePieces, UNIT_DEN } from "../../../shared/pricing/index.ts";
import { H, NOV, graduated, input, plan, usage } from "./contract-fixture.ts";

describe("usage ledger", () => {
  const p = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
  const used = [usage(NOV + 24 * H, 10), usage(NOV + 5 * 24 * H, 10, { feature: "Simulink" }), usage(NOV + 6 * 24 * H, 2)];

  it("a balance from the ledger equals rating everything from scratch", () => {
    const inp = input(p, used, [{ id: "G", amount: "12", created_at: NOV }]);
    const terms = pricingTerms(inp.contract, inp.plans, inp.grants);
    expect(balanceFromLedger(terms, ledgerFromIntervals(terms, used), [], NOV + 10 * 24 * H)).toEqual(computeBalance(inp, NOV + 10 * 24 * H));
  });

  it("a bucket sums its pieces and holds only a count of them; the last piece out removes it", () => {
    const terms = pricingTerms(input(p, used).contract, input(p, used).plans, []);
    const pieces = rateIntervals(terms, used);
    const ledger = emptyLedger();
    addPieces(ledger, pieces);
    const buckets = [...ledger.buckets.values()].map((b) => [b.feature, b.pieces, b.license_ms, b.units / UNIT_DEN]);
    expect(buckets).toEqual([["MATLAB", 2, 12 * H, 12n], ["Simulink", 1, 10 * H, 10n]]);
    removePieces(ledger, pieces.slice(0, 1));
    expect([...ledger.buckets.values()].map((b) => [b.feature, b.pieces])).toEqual([["MATLAB", 1], ["Simulink", 1]]);
    removePieces(ledger, pieces.slice(1));
    expect(ledger.buckets.size).toBe(0);
  });
});
