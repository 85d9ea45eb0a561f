// The plan (DESIGN §6): one shape, five named models, validated per the model table so that a
// bad plan is refused with the path of the offending field (the edge answers 422 invalid_plan).
import { z } from "zod";
import { isDecimalText, parseScaled } from "../decimal/decimal.ts";
import { SCALE } from "./units.ts";

export const MODELS = ["pay_per_use", "prepaid_overage", "hybrid", "token", "tiered"] as const;
export type Model = (typeof MODELS)[number];

/** A non-negative decimal string with at most 12 decimals. */
const amount = z.string().refine((s) => isDecimalText(s, SCALE), { message: "must be a decimal string with at most 12 decimals (no exponent)" })
  .refine((s) => !s.startsWith("-"), { message: "must not be negative" });

/** Units of a rate: below 10^12 per license-hour or per draw, so a usage rollup row's units (license-ms ×
 * count × rate, as a numerator over 10^12) stay within the digits `GET …/usage` sums exactly in SQL
 * (worker/contract/rollup-drain.ts MAX_UNITS_DIGITS) for any safe-integer count. */
const rateUnits = amount.refine((s) => s.split(".")[0]!.length <= 12, { message: "must be below 10^12 units" });

/**
 * A rate (DESIGN §5 "Feature → units"): a decimal string is units per license-hour; an object is a
 * draw — `use_window` charges `units` once per window of `window_s` opened by a use of its key that
 * no open window covers, `checkout` charges `units × count` once per session at its start.
 */
export const DRAW_KEYS = ["user", "feature", "host", "site"] as const;
const useWindow = z.strictObject({
  per: z.literal("use_window"),
  units: rateUnits,
  window_s: z.int().min(60, { message: "must be at least 60 seconds" }).max(31_536_000).optional(),
  key: z.array(z.enum(DRAW_KEYS)).min(1).refine((k) => new Set(k).size === k.length, { message: "must not repeat a field" }).optional(),
});
const checkout = z.strictObject({ per: z.literal("checkout"), units: rateUnits });
const drawRate = z.discriminatedUnion("per", [useWindow, checkout], { error: "must be \"use_window\" or \"checkout\"" });
const rate = z.union([rateUnits, drawRate]);

const tier = z.strictObject({
  up_to: amount.nullable(),
  unit_price: amount,
  flat_fee: amount.optional(),
});

export const planSchema = z.strictObject({
  model: z.enum(MODELS),
  currency: z.string().regex(/^[A-Z]{3}$/, "must be an ISO 4217 code like USD"),
  unit_name: z.string().min(1).max(40),
  period: z.enum(["month", "quarter", "year"]),
  scope: z.array(z.strictObject({ daemon: z.string().min(1), features: z.array(z.string().min(1)).min(1) })).optional(),
  rates: z.record(z.string().min(1), rate).refine((r) => Object.keys(r).length > 0, { message: "must rate at least one feature (or \"*\")" }),
  rounding: z.strictObject({
    increment_s: z.int().min(1).max(86_400),
    minimum_s: z.int().min(0).max(31_536_000),
    grace_s: z.int().min(0).max(31_536_000),
  }).optional(),
  price: z.strictObject({
    mode: z.enum(["graduated", "volume"]),
    tiers: z.array(tier).min(1),
  }).optional(),
  fixed_fee: amount.optional(),
  included_units: amount.optional(),
  minimum_commitment: amount.optional(),
  overage: z.strictObject({
    policy: z.enum(["allow", "limit", "block"]),
    limit_units: amount.optional(),
  }).optional(),
});

export type Plan = z.infer<typeof planSchema>;
export type PlanTier = z.infer<typeof tier>;
export type PlanRate = z.infer<typeof rate>;
export type DrawKeyField = (typeof DRAW_KEYS)[number];

export type PlanResult = { ok: true; plan: Plan } | { ok: false; field: string; message: string };

const isZero = (s: string | undefined) => s === undefined || parseScaled(s, SCALE) === 0n;

/** The model table of DESIGN §6 and the tier rules; returns the first broken rule. */
function modelRules(plan: Plan): { field: string; message: string } | undefined {
  const m = plan.model;
  const tiers = plan.price?.tiers ?? [];
  for (let i = 0; i < tiers.length; i++) {
    const t = tiers[i]!;
    const last = i === tiers.length - 1;
    if (last && t.up_to !== null) return { field: `plan.price.tiers[${i}].up_to`, message: "the last tier must have up_to null (unbounded)" };
    if (!last && t.up_to === null) return { field: `plan.price.tiers[${i}].up_to`, message: "only the last tier may be unbounded" };
    if (t.up_to !== null) {
      const upTo = parseScaled(t.up_to, SCALE);
      const prev = i === 0 ? 0n : parseScaled(tiers[i - 1]!.up_to!, SCALE);
      if (upTo <= prev) return { field: `plan.price.tiers[${i}].up_to`, message: i === 0 ? "must be greater than 0" : "tiers must be strictly ascending" };
    }
  }
  const policy = plan.overage?.policy;
  if (plan.overage && policy !== "limit" && !isZero(plan.overage.limit_units)) {
    return { field: "plan.overage.limit_units", message: `must be absent or 0 with policy ${policy}` };
  }
  if (policy === "limit" && plan.overage?.limit_units === undefined) {
    return { field: "plan.overage.limit_units", message: "is required with policy limit" };
  }
  const prepaid = m === "prepaid_overage" || m === "token";
  if (prepaid && !plan.overage) return { field: "plan.overage", message: `is required for model ${m}` };
  const needsPrice = !(prepaid && policy === "block");
  if (needsPrice && !plan.price) return { field: "plan.price", message: `is required for model ${m}${prepaid ? " unless overage.policy is block" : ""}` };
  if (m === "tiered" && tiers.length < 2) return { field: "plan.price.tiers", message: "model tiered needs at least 2 tiers" };
  if (m === "hybrid") {
    if (plan.fixed_fee === undefined || isZero(plan.fixed_fee)) return { field: "plan.fixed_fee", message: "model hybrid requires a fixed_fee greater than 0" };
  } else {
    if (!isZero(plan.fixed_fee)) return { field: "plan.fixed_fee", message: `must be absent or 0 for model ${m}` };
    if (!isZero(plan.included_units)) return { field: "plan.included_units", message: `must be absent or 0 for model ${m}` };
  }
  return undefined;
}

/** A union's issue names the branch the input was meant for (the one not refused by its type alone). */
function innermost(issue: z.core.$ZodIssue): { issue: z.core.$ZodIssue; path: PropertyKey[] } {
  let path: PropertyKey[] = [...issue.path];
  while (issue.code === "invalid_union" && issue.errors.length > 0) {
    const meant = issue.errors.find((branch) => !(branch[0]?.code === "invalid_type" && branch[0].path.length === 0));
    if (!meant) {
      return { issue: { ...issue, message: "must be a decimal string (units per license-hour) or a draw {\"per\": \"use_window\" | \"checkout\", \"units\", …}" }, path };
    }
    issue = meant[0]!;
    path = [...path, ...issue.path];
  }
  return { issue, path };
}

function fieldOf(issue: z.core.$ZodIssue, parts: PropertyKey[]): string {
  let path = "plan";
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) parts = [...parts, issue.keys[0]];
  for (const p of parts) path += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
  return path;
}

/** Validate a plan: the parsed plan, or the first offending field (`plan.fixed_fee`) and why. */
export function parsePlan(input: unknown): PlanResult {
  const parsed = planSchema.safeParse(input);
  if (!parsed.success) {
    const { issue, path } = innermost(parsed.error.issues[0]!);
    const message = issue.code === "unrecognized_keys" ? "is not a plan field" : issue.message;
    return { ok: false, field: fieldOf(issue, path), message };
  }
  const broken = modelRules(parsed.data);
  return broken ? { ok: false, ...broken } : { ok: true, plan: parsed.data };
}
