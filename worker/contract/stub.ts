// From the directory (D1) to a contract's Durable Object: the stub, and the terms it is set up with.
import type { Env } from "../env.ts";
import type { contracts } from "../db/schema.ts";
import type { ContractTerms, PeriodKind, ScopeEntry } from "./terms.ts";

export function contractStub(env: Env, contractId: string) {
  return env.CONTRACT.get(env.CONTRACT.idFromName(contractId));
}

export function termsOf(row: typeof contracts.$inferSelect): ContractTerms {
  const plan = JSON.parse(row.plan_json) as Record<string, unknown> & { period: PeriodKind; unit_name: string; currency: string; scope?: ScopeEntry[] };
  return {
    contract_id: row.id, vendor_id: row.vendor_id, start_date: row.start_date, start_at: row.start_at,
    timezone: row.timezone, period: plan.period, unit_name: plan.unit_name, currency: plan.currency,
    scope: plan.scope ?? null, plan, statement_grace_h: row.statement_grace_h, expected_sync_s: row.expected_sync_s,
  };
}
