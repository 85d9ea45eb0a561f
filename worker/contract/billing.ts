// A contract's live pricing inside the ContractDO (DESIGN.md §6 "Cost at scale"): the terms from
// the stored plan versions and grants, and the live ledger (shared/pricing/live) over the DO's
// tables. A batch moves the aggregates by its own pieces; a read folds one period; a change of
// terms re-rates in bounded chunks from the alarm. Every mutation runs inside the caller's
// transactionSync; after a rollback `reset()` drops what memory holds and storage is read again.
import { importPending } from "./site-import.ts";
import { supersedePending, supersedeProgress } from "./fork-resolution.ts";
import {
  drawLineOf, grantChange, LiveLedger, LiveStatements, planVersionChange, pricingTerms, traceDrawLine, traceLine,
  type Balance as PricedBalance, type ContractInput, type Period, type PlanVersion, type PricingTerms, type RecordRun,
  type Statement, type TraceCursor, type UsageInterval,
} from "../../shared/pricing/index.ts";
import type { UsageData } from "../../shared/protocol/index.ts";
import { checkThresholds, createEvent, loadAlertConfig, lowThresholdPct } from "./alerts.ts";
import { listGrants } from "./grants.ts";
import { planVersions } from "./plan-versions.ts";
import { SqlLiveStore } from "./sql-live-store.ts";
import { nextStoredUsage, storedUsageProgress } from "./stored-usage-rating.ts";
import type { ContractTerms } from "./terms.ts";
import { queueUnits } from "./units-outbox.ts";

export function contractInput(t: ContractTerms): ContractInput {
  return { start: t.start_date, timezone: t.timezone, period: t.period, statement_grace_h: t.statement_grace_h };
}

export interface Rerating { done: number; total: number }

export class ContractBilling {
  readonly #sql: SqlStorage;
  readonly #store: SqlLiveStore;
  #versions: PlanVersion[] | undefined;
  #live: { ledger: LiveLedger; figures: LiveStatements } | undefined;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#store = new SqlLiveStore(sql);
  }

  /** Drops every in-memory figure (a rolled-back transaction): the next use reads storage again. */
  reset(): void {
    this.#versions = undefined; this.#live = undefined;
    this.#store.reset();
  }

  /** Writes the store's buffered rows (sql-live-store.ts); the DO calls it before every commit. */
  flush(): void {
    this.#store.flush();
  }

  versions(t: ContractTerms): PlanVersion[] {
    return this.#versions ??= planVersions(this.#sql, t);
  }

  /** The contract as pricing sees it: its calendar, and the alert settings' low threshold (alerts.ts). */
  #contract(t: ContractTerms): ContractInput {
    const pct = lowThresholdPct(loadAlertConfig(this.#sql));
    return { ...contractInput(t), ...(pct === undefined ? {} : { low_threshold_pct: pct }) };
  }

  #ledger(t: ContractTerms): { ledger: LiveLedger; figures: LiveStatements } {
    if (!this.#live) {
      const ledger = new LiveLedger(this.#store, pricingTerms(this.#contract(t), this.versions(t), listGrants(this.#sql)));
      this.#live = { ledger, figures: new LiveStatements(ledger) };
    }
    return this.#live;
  }

  terms(t: ContractTerms): PricingTerms {
    return this.#ledger(t).ledger.terms;
  }

  /** The re-rating in progress, if any: a job after new terms, usage stored before pricing, and
   * the seqs of a resolved fork's old branch still in the figures (fork-resolution.ts), summed. */
  rerating(t: ContractTerms): Rerating | undefined {
    const job = this.#ledger(t).ledger.meta.job;
    const parts = [job ? { done: Math.min(job.done, job.total), total: job.total } : undefined, storedUsageProgress(this.#sql), supersedeProgress(this.#sql)]
      .filter((p) => p !== undefined);
    if (parts.length === 0) return undefined;
    return { done: parts.reduce((n, p) => n + p.done, 0), total: parts.reduce((n, p) => n + p.total, 0) };
  }

  /** Rates the usage records a batch just stored (seq > afterSeq, received `now`); in the batch's transaction. */
  rateNewRecords(t: ContractTerms, collectorId: string, afterSeq: number, usage: Array<{ seq: number; data: UsageData }>, now: number): void {
    this.freezeDue(t, now);
    const intervals: UsageInterval[] = usage.map(({ seq, data: d }) => ({
      ref: `${collectorId}:${seq}`, session: `${collectorId}:${d.session}`, feature: d.feature, start: d.start, end: d.end, count: d.count, received_at: now,
      user: d.user, host: d.host, site: collectorId,
    }));
    if (intervals.length === 0) return;
    const { ledger } = this.#ledger(t);
    this.#store.openSessions(intervals);
    const changed = ledger.add(intervals);
    // New records reach D1 with their `records` outbox row; earlier intervals whose session was
    // re-rated (an out-of-order arrival) are re-projected by `units` rows.
    queueUnits(this.#sql, [...changed].filter((ref) => !ref.startsWith(`${collectorId}:`) || Number(ref.slice(collectorId.length + 1)) <= afterSeq));
    this.#changed(t, now);
  }

  /** A step of a superseded fork branch leaves the ledger (fork-resolution.ts moves its records away):
   * the usage in [fromSeq, toSeq], with the rest of its sessions' usage up to `restTo` (the branch's end). */
  dropRecords(t: ContractTerms, collectorId: string, fromSeq: number, toSeq: number, restTo: number, now: number): void {
    const { ledger } = this.#ledger(t);
    const gone = this.#store.collectorIntervals(collectorId, fromSeq, toSeq, restTo);
    const changed = ledger.remove(gone);
    queueUnits(this.#sql, [...changed]);
    this.#changed(t, now);
  }

  /** A grant was added: new terms; re-rating is queued when its start or expiry cuts rated usage. */
  grantAdded(t: ContractTerms, grantId: string, now: number): void {
    const terms = pricingTerms(this.#contract(t), this.versions(t), listGrants(this.#sql));
    const change = grantChange(terms, grantId);
    this.#ledger(t).ledger.termsChanged(terms, change.rerate, change.foldFrom);
    this.#changed(t, now);
  }

  /** A plan version was stored: new terms; usage from its instant on is re-rated by the alarm. */
  planAdded(t: ContractTerms, effectiveAt: number, now: number): void {
    this.#versions = undefined;
    const terms = pricingTerms(this.#contract(t), this.versions(t), listGrants(this.#sql));
    const change = planVersionChange(effectiveAt);
    this.#ledger(t).ledger.termsChanged(terms, change.rerate, change.foldFrom);
    this.#changed(t, now);
  }

  /**
   * One chunk of rating work for the alarm — usage stored before pricing first (stored-usage-rating.ts),
   * then the re-rating job: whether there was none, more remains, or it is all done.
   */
  rerateChunk(t: ContractTerms, now: number): "none" | "more" | "done" {
    const { ledger } = this.#ledger(t);
    const stored = nextStoredUsage(this.#sql, (collectorId, from, to) => this.#store.ratedSeqs(collectorId, from, to));
    if (stored !== undefined) {
      // Every interval rated here is new to D1's facts (projected with 0 units): re-project them all.
      queueUnits(this.#sql, [...ledger.add(stored), ...stored.map((iv) => iv.ref)]);
    } else if (ledger.meta.job) {
      queueUnits(this.#sql, [...ledger.rerateChunk()]);
    } else {
      return "none";
    }
    this.#changed(t, now);
    return ledger.meta.job === null && storedUsageProgress(this.#sql) === undefined ? "done" : "more";
  }

  /** Freezes every period whose close (end + statement grace) is at or before `now`, in order; none
   * while usage stored before pricing is still being rated (the live ledger holds them while a job runs),
   * nor while a site's history is being imported (site-import.ts), nor while a resolved fork's old
   * branch is still in the figures (a statement frozen then would bill it). */
  freezeDue(t: ContractTerms, now: number): number {
    if (storedUsageProgress(this.#sql) !== undefined || importPending(this.#sql) || supersedePending(this.#sql)) return 0;
    const closed = this.#ledger(t).figures.freezeDue(now);
    for (const statement of closed) {
      createEvent(this.#sql, t.contract_id, "period.closed", { period: statement.period, currency: statement.currency, total: statement.total }, now);
    }
    return closed.length;
  }

  /** The priced balance of the period containing `now`. */
  balance(t: ContractTerms, now: number): PricedBalance {
    return this.#ledger(t).figures.balance(now);
  }

  statement(t: ContractTerms, period: Period): Statement {
    return this.#ledger(t).figures.statement(period);
  }

  /** A page of the runs of records a statement line traces to; undefined when there is no such line. */
  lineRecords(t: ContractTerms, period: Period, lineId: string, cursor: TraceCursor | null, limit: number):
    { runs: RecordRun[]; next: TraceCursor | null } | undefined {
    const { figures } = this.#ledger(t);
    const line = period.index <= this.#store.lastFrozen() ? this.#store.frozenLine(period.index, lineId) : figures.pricedLines(period).find((l) => l.id === lineId);
    if (!line) return undefined;
    const drawn = drawLineOf(this.terms(t), lineId, period.index);
    if (drawn) return traceDrawLine(this.#store, this.terms(t), drawn, cursor, limit);
    return traceLine(this.#store, { ranges: line.ranges, period: period.index, lateOnly: line.kind === "adjustment" }, cursor, limit);
  }

  /** Alerts (balance.low / balance.exhausted) follow every change, in the same transaction. */
  #changed(t: ContractTerms, now: number): void {
    this.#store.flush();
    const config = loadAlertConfig(this.#sql);
    if (config) checkThresholds(this.#sql, t.contract_id, config, this.balance(t, now), now);
  }

  /** Re-evaluates thresholds without firing (after the alert settings changed). The figures are
   * dropped first: the balance's `low` follows the new thresholds. */
  armAlerts(t: ContractTerms, now: number): void {
    this.#live = undefined;
    const config = loadAlertConfig(this.#sql);
    if (config) checkThresholds(this.#sql, t.contract_id, config, this.balance(t, now), now, { silent: true });
  }
}
