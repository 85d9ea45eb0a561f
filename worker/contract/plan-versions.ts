// A contract's effective-dated plan versions (DESIGN.md §6): the plan it was created with is the
// first version (in force from the contract start); `PUT …/plan` adds one. `period`, `currency`
// and `unit_name` never change; a version never takes effect inside a closed period.
import { parsePlan, periodAt, periodCloseAt, type Plan, type PlanVersion, type ContractInput } from "../../shared/pricing/index.ts";
import { EdgeError } from "../errors.ts";
import type { ContractTerms, ScopeEntry } from "./terms.ts";

const FIXED_FIELDS = ["period", "currency", "unit_name"] as const;

export function planVersions(sql: SqlStorage, terms: ContractTerms): PlanVersion[] {
  const rows = sql.exec<{ effective_at: number; plan_json: string }>("SELECT effective_at, plan_json FROM plan_versions ORDER BY effective_at").toArray();
  if (rows.length === 0) return [{ effective_at: terms.start_at, plan: terms.plan as Plan }];
  return rows.map((r) => ({ effective_at: r.effective_at, plan: JSON.parse(r.plan_json) as Plan }));
}

/** Validates a new version against the contract and stores it (replacing one at the same instant). */
export function addPlanVersion(sql: SqlStorage, terms: ContractTerms, contract: ContractInput, input: unknown, effectiveAt: number, now: number): PlanVersion[] {
  const parsed = parsePlan(input);
  if (!parsed.ok) throw new EdgeError("invalid_plan", `${parsed.field}: ${parsed.message}`, { field: parsed.field });
  const first = planVersions(sql, terms)[0]!.plan;
  for (const f of FIXED_FIELDS) {
    if (parsed.plan[f] !== first[f]) throw new EdgeError("invalid_plan", `plan.${f}: never changes over a contract (is ${JSON.stringify(first[f])})`, { field: `plan.${f}` });
  }
  if (effectiveAt < terms.start_at) throw new EdgeError("invalid_request", "effective_at: before the contract start", { field: "effective_at" });
  const period = periodAt(contract, effectiveAt);
  if (periodCloseAt(contract, period) <= now) {
    throw new EdgeError("period_closed", `effective_at falls in the period starting ${period.start_date}, which is closed`, { field: "effective_at", period: period.start_date });
  }
  if (sql.exec("SELECT 1 FROM plan_versions LIMIT 1").toArray().length === 0) {
    sql.exec("INSERT INTO plan_versions (effective_at, plan_json, created_at) VALUES (?, ?, ?)", terms.start_at, JSON.stringify(terms.plan), now);
  }
  sql.exec("INSERT INTO plan_versions (effective_at, plan_json, created_at) VALUES (?, ?, ?) ON CONFLICT (effective_at) DO UPDATE SET plan_json = excluded.plan_json, created_at = excluded.created_at",
    effectiveAt, JSON.stringify(parsed.plan), now);
  return planVersions(sql, terms);
}

/** The version in force at `ts` (the earliest also covers any time before it). */
export function versionAt(versions: PlanVersion[], ts: number): PlanVersion {
  let at = versions[0]!;
  for (const v of versions) if (v.effective_at <= ts) at = v;
  return at;
}

/** The scope of the version in force at `ts`: what the edge rates then (null: everything). */
export function scopeAt(versions: PlanVersion[], ts: number): ScopeEntry[] | null {
  return versionAt(versions, ts).plan.scope ?? null;
}

/**
 * What a site must send: the union of every version's scope (null when one meters everything),
 * so no billable record is held back, whatever its time; the edge rates each by its own version.
 */
export function sendScope(versions: PlanVersion[]): ScopeEntry[] | null {
  if (versions.some((v) => !v.plan.scope)) return null;
  const out = new Map<string, Set<string>>();
  for (const v of versions) for (const s of v.plan.scope!) for (const f of s.features) out.set(s.daemon, (out.get(s.daemon) ?? new Set()).add(f));
  return [...out].map(([daemon, features]) => ({ daemon, features: features.has("*") ? ["*"] : [...features] }));
}
