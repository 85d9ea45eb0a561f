// Pricing one period's burn into statement lines (DESIGN §6 "Order within a period"): fixed fee,
// prepaid usage (included units, grants), then price tiers under the overage policy, then the
// commitment true-up = max(0, minimum_commitment − the period's other lines).
import type { PeriodBurn, UnitRange } from "./burn.ts";
import { minorUnits } from "./currency.ts";
import type { LineKind } from "./statement-shape.ts";
import type { PricingTerms } from "./terms.ts";
import { formatScaled } from "../decimal/decimal.ts";
import { feeMinor, formatUnits, moneyMinor, SCALE, unitsToMicro } from "./units.ts";

/** A statement line before formatting: quantity in millionths of a unit, amount in minor units. */
export interface PricedLine {
  id: string;
  kind: LineKind;
  description: string;
  tier?: number;
  /** `draws` lines: the feature drawn. */
  feature?: string;
  quantity_micro: bigint;
  unit_price?: string;
  amount_minor: bigint;
  ref_period?: string;
  /** Where the line's units lie (burn.ts): the records it traces to. Fees have none. */
  ranges: UnitRange[];
}

export interface PricedPeriod { lines: PricedLine[]; billed_overage: bigint; unbilled_overage: bigint }

const ONE = 1_000_000n;

/** Appends ranges, merging one that continues the previous one in the same segment. */
function extend(into: UnitRange[], ranges: readonly UnitRange[]): void {
  for (const r of ranges) {
    const last = into[into.length - 1];
    if (last && last.segment === r.segment && last.to === r.from) into[into.length - 1] = { ...last, to: r.to };
    else into.push({ ...r });
  }
}

/** Index of the tier containing position x: (previous up_to, up_to], the first from 0. */
function tierContaining(tiers: { up_to: bigint | null }[], x: bigint): number {
  for (let i = 0; i < tiers.length; i++) {
    const up = tiers[i]!.up_to;
    if (up === null || x <= up) return i;
  }
  return tiers.length - 1;
}

export function pricePeriod(terms: PricingTerms, burn: PeriodBurn): PricedPeriod {
  const plan = terms.versions[burn.version]!.terms;
  const minor = minorUnits(plan.currency);
  const unit = plan.unit_name;
  const lines: PricedLine[] = [];
  if (plan.fixed_fee > 0n) {
    lines.push({ id: "fixed_fee", kind: "fixed_fee", description: "Fixed fee", quantity_micro: ONE, unit_price: plan.fixed_fee_text, amount_minor: feeMinor(plan.fixed_fee, minor), ranges: [] });
  }
  // Draws (use windows, checkouts) per version and feature: how many, at how many units each. The
  // units are priced by the tier lines with the rest of the period's usage, so the amount is 0.
  for (const d of [...burn.draws.values()].sort((a, b) => a.version - b.version || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0))) {
    if (d.draws <= 0) continue;
    const each = formatUnits(d.units / BigInt(d.draws));
    lines.push({
      id: `draws:${terms.versions[d.version]!.effective_at}:${d.feature}`, kind: "draws", feature: d.feature,
      description: `${d.feature}: draws of ${each} ${unit}s`, quantity_micro: BigInt(d.draws) * ONE, unit_price: each, amount_minor: 0n, ranges: [],
    });
  }
  if (burn.included.units > 0n) {
    lines.push({ id: "included", kind: "prepaid_usage", description: `Included ${unit}s`, quantity_micro: unitsToMicro(burn.included.units), amount_minor: 0n, ranges: burn.included.ranges });
  }
  for (const [id, c] of [...burn.grants].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    lines.push({ id: `grant:${id}`, kind: "prepaid_usage", description: `Prepaid ${unit}s from grant ${id}`, quantity_micro: unitsToMicro(c.units), amount_minor: 0n, ranges: c.ranges });
  }

  // The overage policy caps what is billed; the rest is reported, never silently dropped. The
  // billed part of a chunk is its first units in time order.
  let cap = plan.limit_units;
  const billed: { version: number; units: bigint; segment: number; from: bigint }[] = [];
  let unbilled = 0n;
  for (const chunk of burn.overage) {
    const take = cap === null || chunk.units <= cap ? chunk.units : cap;
    if (cap !== null) cap -= take;
    // A version without a price (a prepaid plan that blocks overage) cannot price a chunk its
    // period's policy still bills: the policy's version, in force at the period start, prices it.
    const version = terms.versions[chunk.version]!.terms.tiers.length > 0 ? chunk.version : burn.version;
    if (take > 0n) billed.push({ version, units: take, segment: chunk.segment, from: chunk.from });
    unbilled += chunk.units - take;
  }
  const total = billed.reduce((s, c) => s + c.units, 0n);

  const kind: LineKind = plan.model === "prepaid_overage" || plan.model === "token" ? "overage" : "tier";
  const label = kind === "overage" ? "Overage" : "Usage";
  const usage = new Map<string, PricedLine & { units: bigint; price: bigint }>();
  const flat = new Map<number, PricedLine>();
  // A tier is entered once per period, under the version in force where its first unit falls; a
  // later version's chunk that only continues in it charges no flat fee of its own.
  const entered = new Set<number>();
  const charge = (version: number, tier: number, units: bigint, range: UnitRange) => {
    const v = terms.versions[version]!;
    const t = v.terms.tiers[tier]!;
    const id = `${kind}:${v.effective_at}:${tier + 1}`;
    let line = usage.get(id);
    if (!line) {
      const lower = tier === 0 ? "0" : formatUnits(v.terms.tiers[tier - 1]!.up_to!);
      const upper = t.up_to === null ? "" : `–${formatUnits(t.up_to)}`;
      const range = v.terms.tiers.length > 1 ? ` tier ${tier + 1} (${lower}${upper || "+"} ${unit}s)` : "";
      line = { id, kind, description: `${label}${range}`, tier: tier + 1, quantity_micro: 0n, unit_price: t.unit_price_text, amount_minor: 0n, ranges: [], units: 0n, price: t.unit_price };
      usage.set(id, line);
    }
    line.units += units;
    extend(line.ranges, [range]);
  };
  const enter = (version: number, tier: number, ranges: UnitRange[]) => {
    const t = terms.versions[version]!.terms.tiers[tier]!;
    if (entered.has(tier)) return;
    entered.add(tier);
    if (t.flat_fee === 0n) return;
    flat.set(tier, { id: `tier_flat_fee:${tier + 1}`, kind: "tier_flat_fee", description: `Tier ${tier + 1} flat fee`, tier: tier + 1, quantity_micro: ONE, unit_price: formatFee(t.flat_fee), amount_minor: feeMinor(t.flat_fee, minor), ranges });
  };
  const flatAtZero = plan.model === "pay_per_use" || plan.model === "tiered";

  if (plan.tiers.length > 0) {
    if (plan.mode === "graduated") {
      let x = 0n;
      for (const c of billed) {
        const tiers = terms.versions[c.version]!.terms.tiers;
        let left = c.units;
        let at = c.from;
        while (left > 0n) {
          const i = tierContaining(tiers, x + 1n);
          const up = tiers[i]!.up_to;
          const take = up === null || left <= up - x ? left : up - x;
          charge(c.version, i, take, { segment: c.segment, from: at, to: at + take });
          // A tier's flat fee traces to the record whose unit entered the tier.
          enter(c.version, i, [{ segment: c.segment, from: at, to: at + 1n }]);
          x += take; left -= take; at += take;
        }
      }
      if (total === 0n && flatAtZero) enter(burn.version, 0, []);
    } else {
      const all: UnitRange[] = [];
      for (const c of billed) {
        const range = { segment: c.segment, from: c.from, to: c.from + c.units };
        charge(c.version, tierContaining(terms.versions[c.version]!.terms.tiers, total), c.units, range);
        extend(all, [range]);
      }
      const last = billed.length > 0 ? billed[billed.length - 1]!.version : burn.version;
      if (total > 0n || flatAtZero) enter(last, tierContaining(terms.versions[last]!.terms.tiers, total), all);
    }
  }
  for (const line of usage.values()) {
    const { units, price, ...rest } = line;
    lines.push({ ...rest, quantity_micro: unitsToMicro(units), amount_minor: moneyMinor(units, price, minor) });
  }
  lines.push(...[...flat.entries()].sort(([a], [b]) => a - b).map(([, l]) => l));

  const commitment = feeMinor(plan.minimum_commitment, minor);
  const others = lines.reduce((s, l) => s + l.amount_minor, 0n);
  if (commitment > others) {
    lines.push({ id: "commitment_true_up", kind: "commitment_true_up", description: "Minimum commitment true-up", quantity_micro: ONE, amount_minor: commitment - others, ranges: [] });
  }
  return { lines, billed_overage: total, unbilled_overage: unbilled };
}

function formatFee(scaled: bigint): string {
  return formatScaled(scaled, SCALE);
}
