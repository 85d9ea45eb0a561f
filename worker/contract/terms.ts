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
  /** Absent in the plan: everything the collector reads is in scope. */
  scope: ScopeEntry[] | null;
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

/** Whether a usage or denial for `daemon`/`feature` is metered by this contract. */
export function inScope(terms: ContractTerms, daemon: string, feature: string): boolean {
  if (terms.scope === null) return true;
  return terms.scope.some((s) => s.daemon === daemon && (s.features.includes("*") || s.features.includes(feature)));
}
