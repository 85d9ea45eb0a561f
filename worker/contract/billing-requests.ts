// The ContractDO's pricing requests (balance, grants, plan versions, statements, alerts), kept
// out of the class so it stays a thin shell. Each mutation runs in one transactionSync; a period
// whose close has passed is frozen first (lazily, on the next request or alarm). Errors cross the
// RPC boundary as plain `{ok: false, error}` values (a thrown class would arrive as a bare Error)
// and become EdgeErrors again in the route (`unwrap`).
import { periodAt, periodStarting, PricingError, type Period, type Statement, type StatementLine } from "../../shared/pricing/index.ts";
import { EdgeError, type ErrorCode } from "../errors.ts";
import { DEFAULT_LOW_THRESHOLDS_PCT, saveAlertConfig, type AlertConfig } from "./alerts.ts";
import { readBalance, type Balance as CollectorBalance } from "./balance.ts";
import { contractInput, type ContractBilling } from "./billing.ts";
import { addGrant, type GrantRequest, type StoredGrant } from "./grants.ts";
import { parseRef } from "./ledger-store.ts";
import { addPlanVersion } from "./plan-versions.ts";
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

/** DESIGN.md §7 balance: the priced figures of the open period plus the collectors' state. */
export type ContractBalance = Omit<CollectorBalance, "usage"> & Omit<PricedBalance, "as_of"> & { as_of: string };

export function contractBalance(host: BillingHost, now: number): ContractBalance {
  const t = host.terms();
  host.transact(() => host.billing.freezeDue(t, now));
  const priced = host.billing.balance(t, now);
  const base = readBalance(host.sql, t, now);
  return {
    contract_id: base.contract_id, as_of: base.as_of, period: priced.period, unit_name: priced.unit_name, currency: priced.currency,
    usage: priced.usage, grants: priced.grants, granted_units: priced.granted_units, remaining_units: priced.remaining_units,
    overage_units: priced.overage_units, unbilled_overage_units: priced.unbilled_overage_units, charges: priced.charges,
    status: priced.status, quarantined_records: base.quarantined_records, stale: base.stale, collectors: base.collectors,
  };
}

export function grant(host: BillingHost, request: GrantRequest, now: number): Result<{ grant: StoredGrant; created: boolean }> {
  return attempt(() => host.transact(() => {
    const t = host.terms();
    host.billing.freezeDue(t, now);
    const out = addGrant(host.sql, request, now);
    if (out.created) host.billing.termsChanged(t, now, false);
    return out;
  }));
}

export function putPlan(host: BillingHost, plan: unknown, effectiveAt: number, now: number): Result<PlanVersion[]> {
  return attempt(() => host.transact(() => {
    const t = host.terms();
    host.billing.freezeDue(t, now);
    const versions = addPlanVersion(host.sql, t, contractInput(t), plan, effectiveAt, now);
    host.billing.termsChanged(t, now, true);
    return versions;
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

function fullStatement(host: BillingHost, date: string | undefined, now: number): Statement {
  const t = host.terms();
  const period = periodOf(t, date, now);
  host.transact(() => host.billing.freezeDue(t, now));
  return host.billing.statement(t, period);
}

export type PublicLine = Omit<StatementLine, "refs">;
export type PublicStatement = Omit<Statement, "lines"> & { contract_id: string; lines: PublicLine[] };

export function statement(host: BillingHost, date: string | undefined, now: number): Result<PublicStatement> {
  return attempt(() => {
    const s = fullStatement(host, date, now);
    return {
      contract_id: host.terms().contract_id, period: s.period, state: s.state, currency: s.currency,
      lines: s.lines.map(({ refs: _refs, ...line }) => line), total: s.total,
    };
  });
}

export interface LineRecord { collector_id: string; seq: number; kind: string; received_at: number; data: unknown }

/** The records a statement line came from, ordered by (collector_id, seq), from `offset`. */
export function lineRecords(host: BillingHost, date: string | undefined, lineId: string, offset: number, limit: number, now: number):
  Result<{ items: LineRecord[]; next: number | null }> {
  return attempt(() => {
    const line = fullStatement(host, date, now).lines.find((l) => l.id === lineId);
    if (!line) throw new EdgeError("not_found", `no line ${lineId} in that statement`);
    const refs = [...new Set(line.refs)].map(parseRef)
      .sort((a, b) => (a.collector_id < b.collector_id ? -1 : a.collector_id > b.collector_id ? 1 : a.seq - b.seq));
    const items: LineRecord[] = [];
    for (const ref of refs.slice(offset, offset + limit)) {
      const row = host.sql.exec<{ kind: string; record_json: string; received_at: number }>(
        "SELECT kind, record_json, received_at FROM records WHERE collector_id = ? AND seq = ?", ref.collector_id, ref.seq).toArray()[0];
      if (row) items.push({ ...ref, kind: row.kind, received_at: row.received_at, data: (JSON.parse(row.record_json) as { data: unknown }).data });
    }
    return { items, next: offset + limit < refs.length ? offset + limit : null };
  });
}
