// Statements (DESIGN §5 late records, §7 shape). A period's own lines price the usage that arrived
// on time (before its end + statement grace). A record for a closed period Q is re-rated with Q's
// plan, tiers and grants; the difference from what Q's statements already carried becomes
// `adjustment` lines in the period open when it arrived. Frozen statements are returned verbatim.
import { emptyPeriodBurn, foldLedger, type Fold } from "./burn.ts";
import { minorUnits } from "./currency.ts";
import type { PricingInput } from "./input.ts";
import { ledgerFromIntervals, type UsageLedger } from "./ledger.ts";
import { periodByIndex, periodStarting, type Period } from "./periods.ts";
import { pricePeriod, type PricedLine } from "./price.ts";
import { isoInstant, type Statement, type StatementLine } from "./statement-shape.ts";
import { pricingTerms, type PricingTerms } from "./terms.ts";
import { formatMinor } from "./units.ts";
import { formatScaled, parseScaled } from "../decimal/decimal.ts";

/** The statement of the period starting on `periodStart` (`YYYY-MM-DD`). */
export function computeStatement(input: PricingInput, periodStart: string): Statement {
  const terms = pricingTerms(input.contract, input.plans, input.grants);
  const ledger = ledgerFromIntervals(terms, input.intervals);
  return statementFromLedger(terms, ledger, input.frozen ?? [], periodStarting(terms.contract, periodStart));
}

function linesOf(terms: PricingTerms, fold: Fold, period: Period): PricedLine[] {
  return pricePeriod(terms, fold.periods.get(period.index) ?? emptyPeriodBurn(terms, period)).lines;
}

interface LineValue { quantity_micro: bigint; amount_minor: bigint; line: PricedLine | StatementLine }

function valuesOf(lines: PricedLine[]): Map<string, LineValue> {
  return new Map(lines.map((l) => [l.id, { quantity_micro: l.quantity_micro, amount_minor: l.amount_minor, line: l }]));
}

/** What the frozen statements already carried for period `q`: its own lines plus later adjustments to it. */
function frozenValues(frozen: Map<string, Statement>, q: Period, upTo: number, contract: PricingTerms["contract"], minor: number): Map<string, LineValue> | undefined {
  const own = frozen.get(q.start_date);
  if (!own) return undefined;
  const values = new Map<string, LineValue>();
  const add = (id: string, l: StatementLine) => {
    const v = values.get(id) ?? { quantity_micro: 0n, amount_minor: 0n, line: l };
    v.quantity_micro += parseScaled(l.quantity, 6);
    v.amount_minor += parseScaled(l.amount, minor);
    values.set(id, v);
  };
  for (const l of own.lines) if (l.kind !== "adjustment") add(l.id, l);
  for (let r = q.index + 1; r <= upTo; r++) {
    const later = frozen.get(periodByIndex(contract, r).start_date);
    const prefix = `adj:${q.start_date}:`;
    for (const l of later?.lines ?? []) if (l.kind === "adjustment" && l.id.startsWith(prefix)) add(l.id.slice(prefix.length), l);
  }
  return values;
}

/** The statement of `period` from a cached ledger (see ledger.ts for the caching contract). */
export function statementFromLedger(terms: PricingTerms, ledger: UsageLedger, frozenList: Statement[], period: Period): Statement {
  const frozen = new Map(frozenList.map((s) => [s.period.start_date, s]));
  const done = frozen.get(period.start_date);
  if (done) return { ...done, state: "closed" };
  const plan = terms.versions[0]!.terms;
  const minor = minorUnits(plan.currency);
  let lastFrozen = -1;
  for (const s of frozenList) lastFrozen = Math.max(lastFrozen, periodStarting(terms.contract, s.period.start_date).index);

  const now = foldLedger(terms, ledger, period.index, period.index);
  const before = foldLedger(terms, ledger, period.index - 1, period.index - 1);
  const lines: PricedLine[] = linesOf(terms, now, period);
  for (let q = 0; q < period.index; q++) {
    const qp = periodByIndex(terms.contract, q);
    const current = valuesOf(linesOf(terms, now, qp));
    const base = (period.index - 1 === lastFrozen ? frozenValues(frozen, qp, lastFrozen, terms.contract, minor) : undefined)
      ?? valuesOf(linesOf(terms, before, qp));
    // An adjustment traces to the records the corrected period had not carried before.
    const old = new Set<string>();
    for (const v of base.values()) for (const r of v.line.refs) old.add(r);
    for (const id of new Set([...current.keys(), ...base.keys()])) {
      const c = current.get(id), b = base.get(id);
      const dq = (c?.quantity_micro ?? 0n) - (b?.quantity_micro ?? 0n);
      const da = (c?.amount_minor ?? 0n) - (b?.amount_minor ?? 0n);
      if (dq === 0n && da === 0n) continue;
      const like = (c ?? b)!.line;
      lines.push({
        id: `adj:${qp.start_date}:${id}`, kind: "adjustment", description: `Adjustment for ${qp.start_date}: ${like.description}`,
        ...(like.tier !== undefined ? { tier: like.tier } : {}),
        quantity_micro: dq, ...(like.unit_price !== undefined ? { unit_price: like.unit_price } : {}),
        amount_minor: da, ref_period: qp.start_date, refs: (c?.line.refs ?? []).filter((r) => !old.has(r)),
      });
    }
  }
  return formatStatement(period, plan.currency, minor, lines);
}

function formatStatement(period: Period, currency: string, minor: number, lines: PricedLine[]): Statement {
  const total = lines.reduce((s, l) => s + l.amount_minor, 0n);
  return {
    period: { start: isoInstant(period.start), end: isoInstant(period.end), start_date: period.start_date },
    state: "open",
    currency,
    lines: lines.map((l) => ({
      id: l.id, kind: l.kind, description: l.description,
      ...(l.tier !== undefined ? { tier: l.tier } : {}),
      quantity: formatScaled(l.quantity_micro, 6),
      ...(l.unit_price !== undefined ? { unit_price: l.unit_price } : {}),
      amount: formatMinor(l.amount_minor, minor),
      ...(l.ref_period !== undefined ? { ref_period: l.ref_period } : {}),
      refs: l.refs,
    })),
    total: formatMinor(total, minor),
  };
}
