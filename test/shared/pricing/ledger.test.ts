// The caching contract the ContractDO relies on (docs/pricing.md).
import { describe, expect, it } from "vitest";
import { balanceFromLedger, computeBalance, ledgerFits, ledgerFromIntervals, pricingTerms } from "../../../shared/pricing/index.ts";
import { H, NOV, graduated, input, plan, usage } from "./contract-fixture.ts";

describe("usage ledger cache", () => {
  const p = plan({ model: "prepaid_overage", overage: { policy: "allow" }, price: graduated([null, "1"]) });
  const used = [usage(NOV + 24 * H, 10), usage(NOV + 5 * 24 * H, 10)];

  it("a balance from the cached ledger equals rating everything from scratch", () => {
    const inp = input(p, used, [{ id: "G", amount: "12", created_at: NOV }]);
    const terms = pricingTerms(inp.contract, inp.plans, inp.grants);
    expect(balanceFromLedger(terms, ledgerFromIntervals(terms, used), [], NOV + 10 * 24 * H)).toEqual(computeBalance(inp, NOV + 10 * 24 * H));
  });

  it("a grant that moves segment boundaries makes the ledger unfit until rebuilt", () => {
    const before = pricingTerms(input(p, used).contract, input(p, used).plans, []);
    const ledger = ledgerFromIntervals(before, used);
    // A grant expiring on 3 Nov cuts November into new segments: only the first 10 tokens may use it.
    const grants = [{ id: "G", amount: "15", created_at: NOV, expires_at: NOV + 3 * 24 * H }];
    const after = pricingTerms(before.contract, input(p, used).plans, grants);
    expect(ledgerFits(ledger, after)).toBe(false);
    const rebuilt = ledgerFromIntervals(after, used);
    expect(ledgerFits(rebuilt, after)).toBe(true);
    const b = balanceFromLedger(after, rebuilt, [], NOV + 10 * 24 * H);
    expect([b.overage_units, b.charges.total]).toEqual(["10", "10.00"]);
    // a grant starting at a period start with no expiry adds no boundary: the ledger still fits
    expect(ledgerFits(ledger, pricingTerms(before.contract, input(p, used).plans, [{ id: "T", amount: "5", created_at: NOV + H }]))).toBe(true);
  });
});
