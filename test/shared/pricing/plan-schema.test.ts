import { describe, expect, it } from "vitest";
import { parsePlan } from "../../../shared/pricing/index.ts";
import { graduated, plan } from "./contract-fixture.ts";

const price = graduated(["1000", "0.40"], [null, "0.30"]);

describe("plan validation names the offending field", () => {
  it("accepts each of the five models in its documented shape", () => {
    expect(parsePlan(plan({ model: "pay_per_use", price })).ok).toBe(true);
    expect(parsePlan(plan({ model: "prepaid_overage", overage: { policy: "allow" }, price })).ok).toBe(true);
    expect(parsePlan(plan({ model: "hybrid", fixed_fee: "100", included_units: "50", price })).ok).toBe(true);
    expect(parsePlan(plan({ model: "token", overage: { policy: "block" } })).ok).toBe(true);
    expect(parsePlan(plan({ model: "tiered", price })).ok).toBe(true);
  });

  it("accepts draws beside license-hours: use windows (defaults: a day, per user and feature) and checkouts", () => {
    const r = parsePlan(plan({ model: "pay_per_use", price, rates: {
      CAD: { per: "use_window", units: "7" }, CAM: { per: "use_window", units: "2.5", window_s: 3600, key: ["user", "host"] },
      SOLVER: { per: "checkout", units: "3" }, "*": "0.5",
    } }));
    expect(r.ok).toBe(true);
  });

  it.each([
    ["pay_per_use without price", plan({ model: "pay_per_use" }), "plan.price"],
    ["fixed_fee on pay_per_use", plan({ model: "pay_per_use", price, fixed_fee: "10" }), "plan.fixed_fee"],
    ["included_units on token", plan({ model: "token", overage: { policy: "block" }, included_units: "5" }), "plan.included_units"],
    ["prepaid without overage", plan({ model: "prepaid_overage", price }), "plan.overage"],
    ["token allowing overage without price", plan({ model: "token", overage: { policy: "allow" } }), "plan.price"],
    ["limit without limit_units", plan({ model: "token", overage: { policy: "limit" }, price }), "plan.overage.limit_units"],
    ["limit_units with allow", plan({ model: "token", overage: { policy: "allow", limit_units: "5" }, price }), "plan.overage.limit_units"],
    ["hybrid without fixed_fee", plan({ model: "hybrid", price }), "plan.fixed_fee"],
    ["tiered with one tier", plan({ model: "tiered", price: graduated([null, "1"]) }), "plan.price.tiers"],
    ["tiers not ascending", plan({ model: "tiered", price: graduated(["10", "1"], ["10", "1"], [null, "1"]) }), "plan.price.tiers[1].up_to"],
    ["last tier bounded", plan({ model: "tiered", price: graduated(["10", "1"], ["20", "1"]) }), "plan.price.tiers[1].up_to"],
    ["unbounded tier not last", plan({ model: "tiered", price: graduated([null, "1"], [null, "1"]) }), "plan.price.tiers[0].up_to"],
    ["negative price", plan({ model: "pay_per_use", price: graduated([null, "-1"]) }), "plan.price.tiers[0].unit_price"],
    ["negative rate", plan({ model: "pay_per_use", price, rates: { "*": "-0.5" } }), "plan.rates.*"],
    ["exponent in a rate", plan({ model: "pay_per_use", price, rates: { MATLAB: "1e2" } }), "plan.rates.MATLAB"],
    ["a number instead of a decimal string", plan({ model: "pay_per_use", price, minimum_commitment: 5 as unknown as string }), "plan.minimum_commitment"],
    ["unknown model", plan({ model: "freemium" as "token", price }), "plan.model"],
    ["misspelt field", { ...plan({ model: "pay_per_use", price }), fixed_fees: "0" }, "plan.fixed_fees"],
    ["a draw with a wrong per", plan({ model: "pay_per_use", price, rates: { CAD: { per: "use_day", units: "7" } as never } }), "plan.rates.CAD.per"],
    ["a draw without per", plan({ model: "pay_per_use", price, rates: { CAD: { units: "7" } as never } }), "plan.rates.CAD.per"],
    ["a negative draw", plan({ model: "pay_per_use", price, rates: { CAD: { per: "use_window", units: "-7" } } }), "plan.rates.CAD.units"],
    ["a non-decimal draw", plan({ model: "pay_per_use", price, rates: { CAD: { per: "checkout", units: "7e1" } } }), "plan.rates.CAD.units"],
    ["a draw as a number", plan({ model: "pay_per_use", price, rates: { CAD: { per: "checkout", units: 7 as never } } }), "plan.rates.CAD.units"],
    ["a window under 60 s", plan({ model: "pay_per_use", price, rates: { CAD: { per: "use_window", units: "7", window_s: 59 } } }), "plan.rates.CAD.window_s"],
    ["a window key field that is not one", plan({ model: "pay_per_use", price, rates: { CAD: { per: "use_window", units: "7", key: ["user", "team" as never] } } }), "plan.rates.CAD.key[1]"],
    ["a window on a checkout", plan({ model: "pay_per_use", price, rates: { CAD: { per: "checkout", units: "7", window_s: 3600 } as never } }), "plan.rates.CAD.window_s"],
    ["a rate that is neither", plan({ model: "pay_per_use", price, rates: { CAD: 7 as never } }), "plan.rates.CAD"],
    ["fractional increment", plan({ model: "pay_per_use", price, rounding: { increment_s: 1.5, minimum_s: 0, grace_s: 0 } }), "plan.rounding.increment_s"],
  ])("%s → %s", (_name, input, field) => {
    const r = parsePlan(input);
    expect(r.ok).toBe(false);
    if (!r.ok) { expect(r.field).toBe(field); expect(r.message.length).toBeGreaterThan(0); }
  });
});
