// A validated plan compiled once into bigints, so rating never re-parses decimal text.
import { parseScaled } from "../decimal/decimal.ts";
import type { DrawKeyField, Model, Plan, PlanRate } from "./plan-schema.ts";
import { SCALE, unitsFromText } from "./units.ts";

export interface Rounding { increment_ms: number; minimum_ms: number; grace_ms: number }

export interface TierTerms {
  /** Upper bound as a unit numerator; null = unbounded. */
  up_to: bigint | null;
  /** Price per unit, scaled by 10^12. */
  unit_price: bigint;
  unit_price_text: string;
  /** Scaled by 10^12. */
  flat_fee: bigint;
}

/** How a feature's usage becomes units (DESIGN §5 "Feature → units"). */
export type RateTerms =
  /** Units per license-hour, scaled by 10^12. */
  | { per: "hour"; rate: bigint }
  /** `units` (a unit numerator) once per window of `window_ms` opened by a use of `key`. */
  | { per: "use_window"; units: bigint; units_text: string; window_ms: number; key: DrawKeyField[] }
  /** `units` (a unit numerator) × count once per session, at its start. */
  | { per: "checkout"; units: bigint; units_text: string };

/** A use window's defaults: a day, per user and feature (Autodesk Flex). */
export const DEFAULT_WINDOW_S = 86_400;
export const DEFAULT_DRAW_KEY: DrawKeyField[] = ["user", "feature"];

export interface PlanTerms {
  model: Model;
  currency: string;
  unit_name: string;
  /** By feature; "*" is the default. */
  rates: Map<string, RateTerms>;
  rounding: Rounding;
  mode: "graduated" | "volume";
  tiers: TierTerms[];
  fixed_fee: bigint;
  fixed_fee_text: string;
  included_units: bigint;
  minimum_commitment: bigint;
  policy: "allow" | "limit" | "block";
  /** Billable overage cap (unit numerator); null = no cap. */
  limit_units: bigint | null;
}

/** Rounding when a plan gives none: whole seconds, no minimum, no grace (bill what was used). */
export const DEFAULT_ROUNDING: Rounding = { increment_ms: 1000, minimum_ms: 0, grace_ms: 0 };

const compiled = new WeakMap<Plan, PlanTerms>();

export function planTerms(plan: Plan): PlanTerms {
  let terms = compiled.get(plan);
  if (!terms) { terms = compile(plan); compiled.set(plan, terms); }
  return terms;
}

function compile(plan: Plan): PlanTerms {
  const rates = new Map<string, RateTerms>();
  for (const [feature, rate] of Object.entries(plan.rates)) rates.set(feature, rateTerms(rate));
  const r = plan.rounding;
  const policy = plan.overage?.policy ?? "allow";
  return {
    model: plan.model,
    currency: plan.currency,
    unit_name: plan.unit_name,
    rates,
    rounding: r ? { increment_ms: r.increment_s * 1000, minimum_ms: r.minimum_s * 1000, grace_ms: r.grace_s * 1000 } : DEFAULT_ROUNDING,
    mode: plan.price?.mode ?? "graduated",
    tiers: (plan.price?.tiers ?? []).map((t) => ({
      up_to: t.up_to === null ? null : unitsFromText(t.up_to),
      unit_price: parseScaled(t.unit_price, SCALE),
      unit_price_text: t.unit_price,
      flat_fee: parseScaled(t.flat_fee ?? "0", SCALE),
    })),
    fixed_fee: parseScaled(plan.fixed_fee ?? "0", SCALE),
    fixed_fee_text: plan.fixed_fee ?? "0",
    included_units: unitsFromText(plan.included_units ?? "0"),
    minimum_commitment: parseScaled(plan.minimum_commitment ?? "0", SCALE),
    policy,
    limit_units: policy === "allow" ? null : policy === "block" ? 0n : unitsFromText(plan.overage?.limit_units ?? "0"),
  };
}

function rateTerms(rate: PlanRate): RateTerms {
  if (typeof rate === "string") return { per: "hour", rate: parseScaled(rate, SCALE) };
  if (rate.per === "checkout") return { per: "checkout", units: unitsFromText(rate.units), units_text: rate.units };
  return {
    per: "use_window", units: unitsFromText(rate.units), units_text: rate.units,
    window_ms: (rate.window_s ?? DEFAULT_WINDOW_S) * 1000, key: rate.key ?? DEFAULT_DRAW_KEY,
  };
}

/** The rate of `feature`, or undefined when the plan rates neither it nor "*". */
export function rateOf(terms: PlanTerms, feature: string): RateTerms | undefined {
  return terms.rates.get(feature) ?? terms.rates.get("*");
}
