// What a ContractDO knows about its contract: set once when the contract is created (and
// re-sent, unchanged, at each enrollment so a DO can never be left without it).

export type PeriodKind = "month" | "quarter" | "year";
export interface ScopeEntry { daemon: string; features: string[] }

export interface ContractTerms {
  contract_id: string;
  vendor_id: string;
  /** `YYYY-MM-DD`: periods are anchored at 00:00 local on this day. */
  start_date: string;
  /** That midnight in `timezone`, ms. */
  start_at: number;
  timezone: string;
  period: PeriodKind;
  unit_name: string;
  currency: string;
  /** Of the plan the contract was created with (plan-versions.ts has every version's). */
  scope: ScopeEntry[] | null;
  /** The plan the contract was created with: the first plan version. */
  plan: Record<string, unknown>;
  statement_grace_h: number;
  expected_sync_s: number;
}

export function saveTerms(sql: SqlStorage, terms: ContractTerms): void {
  sql.exec("INSERT INTO contract (one, terms_json) VALUES (1, ?) ON CONFLICT (one) DO NOTHING", JSON.stringify(terms));
}

export function loadTerms(sql: SqlStorage): ContractTerms | undefined {
  const row = sql.exec<{ terms_json: string }>("SELECT terms_json FROM contract WHERE one = 1").toArray()[0];
  return row ? (JSON.parse(row.terms_json) as ContractTerms) : undefined;
}

/** Whether a usage or denial for `daemon`/`feature` is metered under `scope` (null: everything). */
export function inScope(scope: ScopeEntry[] | null, daemon: string, feature: string): boolean {
  if (scope === null) return true;
  return scope.some((s) => s.daemon === daemon && (s.features.includes("*") || s.features.includes(feature)));
}
