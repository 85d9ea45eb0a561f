// Builders for pricing tests: a UTC monthly contract starting 2026-11-01 and plain plan objects.
import {
  compareRefs, ledgerFromIntervals, ledgerSource, periodStarting, pricedStatement, pricingTerms, rateIntervals,
  type GrantInput, type Plan, type PricingInput, type UsageInterval,
} from "../../../shared/pricing/index.ts";

export const H = 3_600_000;
export const MIN = 60_000;
export const NOV = Date.UTC(2026, 10, 1);
export const DEC = Date.UTC(2026, 11, 1);
export const JAN = Date.UTC(2027, 0, 1);

export function plan(over: Partial<Plan> & Pick<Plan, "model">): Plan {
  return { currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" }, ...over } as Plan;
}

let seq = 0;
/** An interval of `hours` hours from `start`, received right at its end unless told. */
export function usage(start: number, hours: number, over: Partial<UsageInterval> = {}): UsageInterval {
  seq++;
  return { ref: `col:${seq}`, feature: "MATLAB", session: `s${seq}`, start, end: start + hours * H, count: 1, received_at: start + hours * H, ...over };
}

export function input(plans: Plan | { effective_at: number; plan: Plan }[], intervals: UsageInterval[], grants: GrantInput[] = [], extra: Partial<PricingInput> = {}): PricingInput {
  return {
    contract: { start: "2026-11-01", timezone: "UTC", period: "month", ...(extra.contract ?? {}) },
    plans: Array.isArray(plans) ? plans : [{ effective_at: NOV, plan: plans }],
    grants, intervals, ...(extra.frozen ? { frozen: extra.frozen } : {}),
  };
}

export const graduated = (...tiers: [string | null, string, string?][]) => ({
  mode: "graduated" as const, tiers: tiers.map(([up_to, unit_price, flat_fee]) => ({ up_to, unit_price, ...(flat_fee ? { flat_fee } : {}) })),
});
export const volume = (...tiers: [string | null, string, string?][]) => ({ ...graduated(...tiers), mode: "volume" as const });

/** Lines as [kind, quantity, amount] for compact exact assertions. */
export function lineSummary(s: { lines: { kind: string; quantity: string; amount: string; tier?: number }[] }) {
  return s.lines.map((l) => [l.kind + (l.tier ? `#${l.tier}` : ""), l.quantity, l.amount]);
}

/** The `code` a call throws, or "no error". */
export function errorCode(fn: () => unknown): string {
  try { fn(); return "no error"; } catch (e) { return (e as { code?: string }).code ?? String(e); }
}

/**
 * The oracle of line tracing: the records a line of the statement of `periodStart` traces to,
 * from its unit ranges laid over every piece rated from scratch, in (start, record) order.
 */
export function traceRefs(inp: PricingInput, periodStart: string, lineId: string): string[] {
  const terms = pricingTerms(inp.contract, inp.plans, inp.grants);
  const period = periodStarting(terms.contract, periodStart);
  const line = pricedStatement(ledgerSource(terms, ledgerFromIntervals(terms, inp.intervals), inp.frozen ?? []), period).find((l) => l.id === lineId);
  if (!line) throw new Error(`no line ${lineId}`);
  const pieces = rateIntervals(terms, inp.intervals);
  const refs: string[] = [];
  for (const range of line.ranges) {
    let at = 0n;
    for (const p of pieces.filter((x) => x.segment === range.segment && x.arrival <= period.index).sort((a, b) => a.start - b.start || compareRefs(a.ref, b.ref))) {
      const from = at;
      at += p.units;
      if (p.units > 0n && at > range.from && from < range.to && (line.kind !== "adjustment" || p.arrival === period.index)) refs.push(p.ref);
    }
  }
  return refs;
}
