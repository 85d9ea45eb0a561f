// Balances, statements and period closes from the live ledger's stored aggregates. A figure reads
// the period it is about and the grant state stored before it; a statement also names the few
// earlier periods that can carry an adjustment (those a late record or a re-rating reached since
// the last close), so no read folds history. Folded lines are cached per (cutoff, period) until a
// change reaches that period.
import { assembleBalance } from "../balance.ts";
import { burnPeriod, carriedState, leftOf, type GrantState } from "../burn.ts";
import { minorUnits } from "../currency.ts";
import { periodAt, periodByIndex, periodCloseAt, periodStarting, type Period } from "../periods.ts";
import { pricePeriod, type PricedLine } from "../price.ts";
import { isoInstant, type Balance, type Statement } from "../statement-shape.ts";
import { formatStatement, pricedStatement, statementOf, type LineValue, type StatementSource } from "../statement.ts";
import type { LiveLedger } from "./live-ledger.ts";

interface Folded { lines: PricedLine[]; end: GrantState }

export class LiveStatements {
  readonly #ledger: LiveLedger;
  readonly #folded = new Map<number, Map<number, Folded>>();
  #cachedAt = -1;
  #balance: { key: string; value: Balance } | undefined;

  constructor(ledger: LiveLedger) {
    this.#ledger = ledger;
  }

  /** The priced balance of the period containing `asOf`. */
  balance(asOf: number): Balance {
    this.#sync();
    const terms = this.#ledger.terms;
    const period = periodAt(terms.contract, asOf);
    const expired = terms.grants.filter((g) => g.expires_at !== null && g.expires_at <= asOf).length;
    const key = `${this.#ledger.version}|${period.index}|${expired}|${asOf >= terms.grants.reduce((m, g) => Math.min(m, g.active_from), Infinity)}`;
    if (this.#balance?.key === key) return { ...this.#balance.value, as_of: isoInstant(asOf) };
    const store = this.#ledger.store;
    const start = store.foldEndBefore(period.index) ?? new Map();
    const { burn, remaining } = burnPeriod(terms, period, start, store.periodBuckets(period.index));
    const grants = new Map(terms.grants.map((g) => [g.id, g]));
    const value = assembleBalance(terms, burn, (id) => leftOf(remaining, grants.get(id)!), statementOf(this.source(), period), asOf);
    this.#balance = { key, value };
    return value;
  }

  statement(period: Period): Statement {
    this.#sync();
    return statementOf(this.source(), period);
  }

  /** The priced lines of an open period's statement (for tracing a line to its records). */
  pricedLines(period: Period): PricedLine[] {
    this.#sync();
    return pricedStatement(this.source(), period);
  }

  /** Freezes every period whose close is at or before `now`, in order; none while a re-rating runs. */
  freezeDue(now: number): Statement[] {
    const out: Statement[] = [];
    const store = this.#ledger.store;
    const terms = this.#ledger.terms;
    const currency = terms.versions[0]!.terms.currency;
    const minor = minorUnits(currency);
    for (;;) {
      if (this.#ledger.meta.job) break;
      const index = store.lastFrozen() + 1;
      const period = periodByIndex(terms.contract, index);
      if (periodCloseAt(terms.contract, period) > now) break;
      this.#sync();
      const lines = pricedStatement(this.source(), period);
      const statement: Statement = { ...formatStatement(period, currency, minor, lines), state: "closed" };
      store.saveFrozen(index, statement, lines, now);
      for (const l of lines) {
        const value: LineValue = { quantity_micro: l.quantity_micro, amount_minor: l.amount_minor, line: l };
        if (l.kind !== "adjustment") store.addCarried(index, l.id, value);
        else store.addCarried(periodStarting(terms.contract, l.ref_period!).index, l.id.slice(`adj:${l.ref_period}:`.length), value);
      }
      this.#ledger.closed(store.firstLatePeriod(index, index + 1, index + 1) ?? index + 1);
      out.push(statement);
    }
    return out;
  }

  source(): StatementSource {
    const ledger = this.#ledger;
    const store = ledger.store;
    return {
      terms: ledger.terms,
      lastFrozen: () => store.lastFrozen(),
      frozen: (index) => store.frozen(index),
      lines: (q, cutoff) => this.#fold(q, cutoff).lines,
      carried: (q) => store.carried(q),
      candidates(period) {
        const from = period - 1 === store.lastFrozen() ? ledger.meta.adjust_from : store.firstLatePeriod(period - 1, period, period) ?? period;
        const out: number[] = [];
        for (let q = Math.max(0, from); q < period; q++) out.push(q);
        return out;
      },
    };
  }

  /** Period q folded with the usage that arrived by `cutoff`. */
  #fold(q: number, cutoff: number): Folded {
    let byPeriod = this.#folded.get(cutoff);
    if (!byPeriod) { byPeriod = new Map(); this.#folded.set(cutoff, byPeriod); }
    const cached = byPeriod.get(q);
    if (cached) return cached;
    const { terms, store } = this.#ledger;
    const period = periodByIndex(terms.contract, q);
    const buckets = store.periodBuckets(q).filter((b) => b.arrival <= cutoff);
    const { burn, remaining } = burnPeriod(terms, period, this.#startAt(q, cutoff), buckets);
    const folded = { lines: pricePeriod(terms, burn).lines, end: carriedState(terms, period, remaining) };
    byPeriod.set(q, folded);
    return folded;
  }

  /** The grant state at the start of q with the usage that arrived by `cutoff`. */
  #startAt(q: number, cutoff: number): GrantState {
    const store = this.#ledger.store;
    // Stored states count every arrival: they hold for `cutoff` up to the first period with later arrivals.
    const late = store.firstLatePeriod(cutoff, Infinity, q);
    if (late === undefined) return store.foldEndBefore(q) ?? new Map();
    // `late` has buckets, so the last period with buckets before q is at or after it.
    return this.#fold(store.prevBucketPeriod(q)!, cutoff).end;
  }

  /** Drops folds a change reached. */
  #sync(): void {
    const from = this.#ledger.takeChangedFrom();
    if (from !== Infinity) for (const byPeriod of this.#folded.values()) for (const q of [...byPeriod.keys()]) if (q >= from) byPeriod.delete(q);
    if (this.#cachedAt !== this.#ledger.version) { this.#cachedAt = this.#ledger.version; this.#balance = undefined; }
  }
}
