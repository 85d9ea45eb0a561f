// Statements (DESIGN §5 late records, §7 shape). A period's own lines price the usage that arrived
// on time (before its end + statement grace). A record for a closed period Q is re-rated with Q's
// plan, tiers and grants; the difference from what Q's statements already carried becomes
// `adjustment` lines in the period open when it arrived. Frozen statements are returned verbatim.
//
// The assembly reads its figures from a `StatementSource`: the pure one below folds an in-memory
// ledger over every period (the oracle); the ContractDO's (live/) reads stored aggregates and
// names the few periods that can carry an adjustment, so a statement costs what changed.
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

/** What a statement carried for one line: quantity and amount, and the line it was first seen as. */
export interface LineValue {
  quantity_micro: bigint;
  amount_minor: bigint;
  line: Pick<PricedLine, "description" | "tier" | "unit_price"> & { ranges?: PricedLine["ranges"] };
}

export interface StatementSource {
  terms: PricingTerms;
  /** Index of the last closed period (closed periods are a prefix), -1 when none. */
  lastFrozen(): number;
  frozen(index: number): Statement | undefined;
  /** The priced lines of period q folded with the usage that arrived by period `cutoff`. */
  lines(q: number, cutoff: number): PricedLine[];
  /** What the frozen statements carried for closed period q, by line id in the order first carried. */
  carried(q: number): Map<string, LineValue>;
  /** Periods before `period` that may differ from their base, ascending; the others carry no adjustment. */
  candidates(period: number): Iterable<number>;
}

/** The statement of the period starting on `periodStart` (`YYYY-MM-DD`). */
export function computeStatement(input: PricingInput, periodStart: string): Statement {
  const terms = pricingTerms(input.contract, input.plans, input.grants);
  const ledger = ledgerFromIntervals(terms, input.intervals);
  return statementFromLedger(terms, ledger, input.frozen ?? [], periodStarting(terms.contract, periodStart));
}

/** The statement of `period` from an in-memory ledger, folding every period (the oracle). */
export function statementFromLedger(terms: PricingTerms, ledger: UsageLedger, frozenList: Statement[], period: Period): Statement {
  return statementOf(ledgerSource(terms, ledger, frozenList), period);
}

export function statementOf(source: StatementSource, period: Period): Statement {
  const done = source.frozen(period.index);
  if (done) return { ...done, state: "closed" };
  const currency = source.terms.versions[0]!.terms.currency;
  return formatStatement(period, currency, minorUnits(currency), pricedStatement(source, period));
}

function valuesOf(lines: PricedLine[]): Map<string, LineValue> {
  return new Map(lines.map((l) => [l.id, { quantity_micro: l.quantity_micro, amount_minor: l.amount_minor, line: l }]));
}

/** The open period's lines: its own, then adjustments for earlier periods in period order. */
export function pricedStatement(source: StatementSource, period: Period): PricedLine[] {
  const { terms } = source;
  const lastFrozen = source.lastFrozen();
  const lines: PricedLine[] = [...source.lines(period.index, period.index)];
  for (const q of source.candidates(period.index)) {
    const qp = periodByIndex(terms.contract, q);
    const current = valuesOf(source.lines(q, period.index));
    const base = period.index - 1 === lastFrozen ? source.carried(q) : valuesOf(source.lines(q, period.index - 1));
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
        amount_minor: da, ref_period: qp.start_date,
        // An adjustment traces to the records in the corrected line that arrived late, in this period.
        ranges: c?.line.ranges ?? [],
      });
    }
  }
  return lines;
}

export function formatStatement(period: Period, currency: string, minor: number, lines: PricedLine[]): Statement {
  const total = lines.reduce((s, l) => s + l.amount_minor, 0n);
  return {
    period: { start: isoInstant(period.start), end: isoInstant(period.end), start_date: period.start_date },
    state: "open",
    currency,
    lines: lines.map((l): StatementLine => ({
      id: l.id, kind: l.kind, description: l.description,
      ...(l.feature !== undefined ? { feature: l.feature } : {}),
      ...(l.tier !== undefined ? { tier: l.tier } : {}),
      quantity: formatScaled(l.quantity_micro, 6),
      ...(l.unit_price !== undefined ? { unit_price: l.unit_price } : {}),
      amount: formatMinor(l.amount_minor, minor),
      ...(l.ref_period !== undefined ? { ref_period: l.ref_period } : {}),
    })),
    total: formatMinor(total, minor),
  };
}

/** What closed statements carried for q: its own lines plus later frozen adjustments to it. */
export function carriedFromFrozen(frozen: (index: number) => Statement | undefined, contract: PricingTerms["contract"], q: number, upTo: number, minor: number): Map<string, LineValue> {
  const values = new Map<string, LineValue>();
  const add = (id: string, l: StatementLine) => {
    const v = values.get(id) ?? { quantity_micro: 0n, amount_minor: 0n, line: l };
    v.quantity_micro += parseScaled(l.quantity, 6);
    v.amount_minor += parseScaled(l.amount, minor);
    values.set(id, v);
  };
  const own = frozen(q);
  for (const l of own?.lines ?? []) if (l.kind !== "adjustment") add(l.id, l);
  const prefix = `adj:${periodByIndex(contract, q).start_date}:`;
  for (let r = q + 1; r <= upTo; r++) {
    for (const l of frozen(r)?.lines ?? []) if (l.kind === "adjustment" && l.id.startsWith(prefix)) add(l.id.slice(prefix.length), l);
  }
  return values;
}

/** The oracle's source: every fold over the whole in-memory ledger, every earlier period a candidate. */
export function ledgerSource(terms: PricingTerms, ledger: UsageLedger, frozenList: Statement[]): StatementSource {
  const frozen = new Map(frozenList.map((s) => [periodStarting(terms.contract, s.period.start_date).index, s]));
  const lastFrozen = Math.max(-1, ...frozen.keys());
  const folds = new Map<number, Fold>();
  const minor = minorUnits(terms.versions[0]!.terms.currency);
  return {
    terms,
    lastFrozen: () => lastFrozen,
    frozen: (index) => frozen.get(index),
    lines(q, cutoff) {
      let fold = folds.get(cutoff);
      if (!fold) { fold = foldLedger(terms, ledger, cutoff, cutoff); folds.set(cutoff, fold); }
      return pricePeriod(terms, fold.periods.get(q) ?? emptyPeriodBurn(terms, periodByIndex(terms.contract, q))).lines;
    },
    carried: (q) => carriedFromFrozen((i) => frozen.get(i), terms.contract, q, lastFrozen, minor),
    candidates: (period) => Array.from({ length: Math.max(0, period) }, (_, q) => q),
  };
}
