// A contract's live pricing inside the ContractDO (DESIGN.md §6, docs/pricing.md "Caching
// contract"): terms from the stored plan versions and grants, the rated ledger, frozen statements
// and a balance cache keyed by the DO's state version. Every mutation runs inside the caller's
// transactionSync; reads fold cached aggregates and never re-rate history.
import {
  balanceFromLedger, ledgerFits, periodAt, periodByIndex, periodCloseAt, periodIndexAt, pricingTerms, statementFromLedger,
  type Balance as PricedBalance, type ContractInput, type Period, type PricingTerms, type Statement, type UsageLedger,
} from "../../shared/pricing/index.ts";
import type { UsageData } from "../../shared/protocol/index.ts";
import { checkThresholds, createEvent, loadAlertConfig } from "./alerts.ts";
import { listGrants } from "./grants.ts";
import { LedgerStore, loadLedger, refOf } from "./ledger-store.ts";
import { planVersions } from "./plan-versions.ts";
import type { ContractTerms } from "./terms.ts";

export function contractInput(t: ContractTerms): ContractInput {
  return { start: t.start_date, timezone: t.timezone, period: t.period, statement_grace_h: t.statement_grace_h };
}

export class ContractBilling {
  readonly #sql: SqlStorage;
  readonly #store: LedgerStore;
  #terms: PricingTerms | undefined;
  #ledger: UsageLedger | undefined;
  #frozen: Statement[] | undefined;
  #balance: { key: string; value: PricedBalance } | undefined;
  /** Bumped by every change of what a balance is computed from. */
  #version = 0;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
    this.#store = new LedgerStore(sql);
  }

  /** Drops every in-memory figure (a rolled-back transaction): the next use reloads storage. */
  reset(): void {
    this.#terms = undefined; this.#ledger = undefined; this.#frozen = undefined; this.#balance = undefined;
    this.#store.reset();
    this.#version++;
  }

  terms(t: ContractTerms): PricingTerms {
    return this.#terms ??= pricingTerms(contractInput(t), planVersions(this.#sql, t), listGrants(this.#sql));
  }

  ledger(t: ContractTerms): UsageLedger {
    return this.#ledger ??= loadLedger(this.#sql, this.terms(t));
  }

  frozen(): Statement[] {
    return this.#frozen ??= this.#sql.exec<{ statement_json: string }>("SELECT statement_json FROM frozen_statements ORDER BY period_index")
      .toArray().map((r) => JSON.parse(r.statement_json) as Statement);
  }

  /** Rates the usage records a batch just stored (seq > afterSeq); in the batch's transaction. */
  rateNewRecords(t: ContractTerms, collectorId: string, afterSeq: number, now: number): void {
    this.freezeDue(t, now);
    const rows = this.#sql.exec<{ seq: number; record_json: string; received_at: number }>(
      "SELECT seq, record_json, received_at FROM records WHERE collector_id = ? AND seq > ? AND kind = 'usage' AND quarantine IS NULL ORDER BY seq",
      collectorId, afterSeq).toArray();
    if (rows.length === 0) return;
    const intervals = rows.map((r) => {
      const d = (JSON.parse(r.record_json) as { data: UsageData }).data;
      return {
        ref: refOf(collectorId, r.seq), collector_id: collectorId, seq: r.seq, session: `${collectorId}:${d.session}`,
        feature: d.feature, start: d.start, end: d.end, count: d.count, received_at: r.received_at,
      };
    });
    const changed = this.#store.add(this.terms(t), this.ledger(t), intervals);
    // Out-of-order arrivals re-rate earlier intervals of their session: re-project those units.
    const maxSeq = rows[rows.length - 1]!.seq;
    const earlier = [...changed].filter((ref) => !ref.startsWith(`${collectorId}:`) || Number(ref.slice(collectorId.length + 1)) <= afterSeq);
    if (earlier.length > 0) this.#sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('units', ?, 1, ?)", collectorId, maxSeq);
    this.#changed(t, now);
  }

  /** A superseded fork branch leaves the ledger (fork-resolution.ts moved its records away). */
  dropRecords(t: ContractTerms, collectorId: string, fromSeq: number, toSeq: number, now: number): void {
    this.#store.remove(this.terms(t), this.ledger(t), collectorId, fromSeq, toSeq);
    this.#sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('units', ?, 1, ?)", collectorId, fromSeq - 1);
    this.#changed(t, now);
  }

  /** Plan versions or grants changed: new terms; rebuild the ledger when its segments or rates moved. */
  termsChanged(t: ContractTerms, now: number, ratesMayChange: boolean): void {
    const old = this.ledger(t);
    this.#terms = undefined;
    const terms = this.terms(t);
    if (ratesMayChange || !ledgerFits(old, terms)) {
      this.#ledger = this.#store.rebuild(terms);
      for (const c of this.#sql.exec<{ collector_id: string; hwm: number }>("SELECT collector_id, hwm FROM chains WHERE hwm > 0")) {
        this.#sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('units', ?, 1, ?)", c.collector_id, c.hwm);
      }
    } else {
      old.fingerprint = terms.fingerprint;
    }
    this.#changed(t, now);
  }

  /** Freezes every period whose close (end + statement grace) is at or before `now`, in order. */
  freezeDue(t: ContractTerms, now: number): number {
    const contract = contractInput(t);
    const frozen = this.frozen();
    let k = frozen.length === 0 ? 0 : periodAt(contract, Date.parse(frozen[frozen.length - 1]!.period.start)).index + 1;
    let count = 0;
    for (let p = periodByIndex(contract, k); periodCloseAt(contract, p) <= now; p = periodByIndex(contract, ++k)) {
      const statement: Statement = { ...statementFromLedger(this.terms(t), this.ledger(t), frozen, p), state: "closed" };
      this.#sql.exec("INSERT INTO frozen_statements (period_index, start_date, statement_json, frozen_at) VALUES (?, ?, ?, ?)",
        p.index, p.start_date, JSON.stringify(statement), now);
      frozen.push(statement);
      createEvent(this.#sql, t.contract_id, "period.closed", {
        period: statement.period, currency: statement.currency, total: statement.total,
      }, now);
      count++;
    }
    if (count > 0) this.#version++;
    return count;
  }

  /** The priced balance of the period containing `now` (cached per state version). */
  balance(t: ContractTerms, now: number): PricedBalance {
    const terms = this.terms(t);
    const expired = terms.grants.filter((g) => g.expires_at !== null && g.expires_at <= now).length;
    const key = `${this.#version}|${periodIndexAt(terms.contract, now)}|${expired}`;
    if (this.#balance?.key !== key) this.#balance = { key, value: balanceFromLedger(terms, this.ledger(t), this.frozen(), now) };
    return this.#balance.value;
  }

  statement(t: ContractTerms, period: Period): Statement {
    return statementFromLedger(this.terms(t), this.ledger(t), this.frozen(), period);
  }

  unitsOf(refs: string[]): Map<string, bigint> {
    return this.#store.unitsOf(refs);
  }

  /** Alerts (balance.low / balance.exhausted) follow every change, in the same transaction. */
  #changed(t: ContractTerms, now: number): void {
    this.#version++;
    const config = loadAlertConfig(this.#sql);
    if (config) checkThresholds(this.#sql, t.contract_id, config, this.balance(t, now), now);
  }

  /** Re-evaluates thresholds without firing (after the alert settings changed). */
  armAlerts(t: ContractTerms, now: number): void {
    const config = loadAlertConfig(this.#sql);
    if (config) checkThresholds(this.#sql, t.contract_id, config, this.balance(t, now), now, { silent: true });
  }
}
