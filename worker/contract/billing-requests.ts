// The ContractDO's pricing requests (balance, grants, plan versions, statements, alerts), kept
// out of the class so it stays a thin shell. Each mutation runs in one transactionSync; a period
// whose close has passed is frozen first (lazily, on the next request or alarm). Errors cross the
// RPC boundary as plain `{ok: false, error}` values (a thrown class would arrive as a bare Error)
// and become EdgeErrors again in the route (`unwrap`).
import { importPending } from "./site-import.ts";
import { periodAt, periodStarting, PricingError, type Period, type Statement } from "../../shared/pricing/index.ts";
import { EdgeError, type ErrorCode } from "../errors.ts";
import { DEFAULT_LOW_THRESHOLDS_PCT, saveAlertConfig, type AlertConfig } from "./alerts.ts";
import { readBalance, type Balance as CollectorBalance } from "./balance.ts";
import { contractInput, type ContractBilling, type Rerating } from "./billing.ts";
import { addGrant, type GrantRequest, type StoredGrant } from "./grants.ts";
import { addPlanVersion } from "./plan-versions.ts";
import { decodeCursor, encodeCursor, lineTag } from "./trace-cursor.ts";
import type { ContractTerms } from "./terms.ts";
import type { Balance as PricedBalance, PlanVersion } from "../../shared/pricing/index.ts";

export interface BillingHost {
  sql: SqlStorage;
  billing: ContractBilling;
  terms(): ContractTerms;
  /** transactionSync that also drops the billing caches when the transaction throws. */
  transact<T>(f: () => T): T;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string; extra: Record<string, unknown> } };

export function unwrap<T>(result: Result<T>): T {
  if (!result.ok) throw new EdgeError(result.error.code, result.error.message, result.error.extra);
  return result.value;
}

function attempt<T>(f: () => T): Result<T> {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    if (error instanceof EdgeError) return { ok: false, error: { code: error.code, message: error.message, extra: error.extra } };
    throw error;
  }
}

/** DESIGN.md §7 balance: the priced figures of the open period plus the collectors' state;
 * `rerating` while a plan version or grant is still being re-rated. */
export type ContractBalance = CollectorBalance & Omit<PricedBalance, "as_of"> & { as_of: string; rerating?: Rerating };

export function contractBalance(host: BillingHost, now: number): ContractBalance {
  const t = host.terms();
  host.transact(() => host.billing.freezeDue(t, now));
  const priced = host.billing.balance(t, now);
  const base = readBalance(host.sql, t, now);
  const rerating = host.billing.rerating(t);
  return {
    contract_id: base.contract_id, as_of: base.as_of, period: priced.period, unit_name: priced.unit_name, currency: priced.currency,
    usage: priced.usage, grants: priced.grants, granted_units: priced.granted_units, remaining_units: priced.remaining_units,
    overage_units: priced.overage_units, unbilled_overage_units: priced.unbilled_overage_units, charges: priced.charges,
    status: priced.status, quarantined_records: base.quarantined_records, stale: base.stale, collectors: base.collectors,
    ...(rerating ? { rerating } : {}),
  };
}

export function grant(host: BillingHost, request: GrantRequest, now: number): Result<{ grant: StoredGrant; created: boolean; rerating: Rerating | null }> {
  return attempt(() => host.transact(() => {
    const t = host.terms();
    host.billing.freezeDue(t, now);
    const known = host.sql.exec("SELECT 1 FROM grants WHERE idempotency_key = ?", request.idempotency_key).toArray().length > 0;
    if (request.created_at !== undefined && !known) {
      if (!importPending(host.sql)) throw new EdgeError("arrival_refused", "created_at is only accepted while a site's history is being imported (PUT …/collectors/{cid} with history_to_seq)");
      if (request.created_at > now) throw new EdgeError("arrival_refused", "created_at is in the future");
    }
    // The route checks expires_at against an explicit effective_at; without one the grant starts at
    // its creation period's start, which only the terms know. (A replay answers the grant as stored.)
    if (!known && request.effective_at == null && request.expires_at != null
      && request.expires_at <= periodAt(contractInput(t), request.created_at ?? now).start) {
      throw new EdgeError("invalid_request", "expires_at: must be after effective_at (by default the start of the period the grant is created in)", { field: "expires_at" });
    }
    const out = addGrant(host.sql, request, now);
    if (out.created) host.billing.grantAdded(t, out.grant.id, now);
    return { ...out, rerating: host.billing.rerating(t) ?? null };
  }));
}

/** A new plan version, accepted at once: usage it re-rates is re-rated by the alarm (`rerating`). */
export function putPlan(host: BillingHost, plan: unknown, effectiveAt: number, now: number): Result<{ versions: PlanVersion[]; rerating: Rerating | null }> {
  return attempt(() => host.transact(() => {
    const t = host.terms();
    host.billing.freezeDue(t, now);
    const versions = addPlanVersion(host.sql, t, contractInput(t), plan, effectiveAt, now);
    host.billing.planAdded(t, effectiveAt, now);
    return { versions, rerating: host.billing.rerating(t) ?? null };
  }));
}

export function setAlerts(host: BillingHost, input: { webhook_url: string; low_thresholds_pct?: number[] }, now: number): AlertConfig {
  const config = { webhook_url: input.webhook_url, low_thresholds_pct: [...new Set(input.low_thresholds_pct ?? DEFAULT_LOW_THRESHOLDS_PCT)].sort((a, b) => b - a) };
  host.transact(() => {
    const t = host.terms();
    host.billing.freezeDue(t, now);
    saveAlertConfig(host.sql, config, now);
    host.billing.armAlerts(t, now);
  });
  return config;
}

/** The period named by `YYYY-MM-DD` (default: the one containing now); not a future one. */
function periodOf(t: ContractTerms, date: string | undefined, now: number): Period {
  const contract = contractInput(t);
  let period: Period;
  try {
    period = date === undefined ? periodAt(contract, now) : periodStarting(contract, date);
  } catch (error) {
    if (error instanceof PricingError) throw new EdgeError("invalid_request", `period: ${error.message}`, { field: "query.period" });
    throw error;
  }
  if (period.index < 0) throw new EdgeError("not_found", "the contract had not started in that period");
  if (period.start > now) throw new EdgeError("not_found", `the period starting ${period.start_date} has not started yet`);
  return period;
}

function fullStatement(host: BillingHost, date: string | undefined, now: number): { statement: Statement; period: Period } {
  const t = host.terms();
  const period = periodOf(t, date, now);
  host.transact(() => host.billing.freezeDue(t, now));
  return { statement: host.billing.statement(t, period), period };
}

export type PublicStatement = Statement & { contract_id: string; rerating?: Rerating };

/** The statement; an open one says `rerating` while a plan version or grant is still being re-rated. */
export function statement(host: BillingHost, date: string | undefined, now: number): Result<PublicStatement> {
  return attempt(() => {
    const { statement: s } = fullStatement(host, date, now);
    const rerating = s.state === "open" ? host.billing.rerating(host.terms()) : undefined;
    return { contract_id: host.terms().contract_id, period: s.period, state: s.state, currency: s.currency, lines: s.lines, total: s.total, ...(rerating ? { rerating } : {}) };
  });
}

export interface LineRecordRun { collector_id: string; first_seq: number; last_seq: number }

/** A page of the runs of records a statement line came from, in the line's time order (line-trace.ts). */
export function lineRecords(host: BillingHost, date: string | undefined, lineId: string, cursor: string | undefined, limit: number, now: number):
  Result<{ items: LineRecordRun[]; next_cursor: string | null }> {
  return attempt(() => {
    const { period } = fullStatement(host, date, now);
    const tag = lineTag(host.terms().contract_id, period.start, lineId);
    const from = cursor === undefined ? null : decodeCursor(cursor, tag);
    const page = host.billing.lineRecords(host.terms(), period, lineId, from, limit);
    if (!page) throw new EdgeError("not_found", `no line ${lineId} in that statement`);
    return {
      items: page.runs.map((r) => ({ collector_id: r.source, first_seq: r.first_seq, last_seq: r.last_seq })),
      next_cursor: page.next === null ? null : encodeCursor(page.next, tag),
    };
  });
}
