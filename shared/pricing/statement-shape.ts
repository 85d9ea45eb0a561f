// The statement and balance shapes of DESIGN §7 that pricing produces (the edge adds contract_id,
// stale flags and collectors).

export type LineKind = "fixed_fee" | "draws" | "tier" | "tier_flat_fee" | "prepaid_usage" | "overage" | "adjustment" | "commitment_true_up";

export interface StatementLine {
  /** Stable within a statement: `fixed_fee`, `tier:<effective_at>:<i>`, `grant:<id>`, `adj:<start_date>:<line id>`… */
  id: string;
  kind: LineKind;
  description: string;
  feature?: string;
  /** 1-based tier number. */
  tier?: number;
  /** Units (or 1 for fees; draws counted for `draws`), at most 6 decimals. */
  quantity: string;
  unit_price?: string;
  /** Rounded half away from zero to the currency's minor unit. */
  amount: string;
  /** For adjustments: start date of the period corrected. */
  ref_period?: string;
}

export interface Statement {
  period: { start: string; end: string; start_date: string };
  state: "open" | "closed";
  currency: string;
  lines: StatementLine[];
  /** Sum of the rounded line amounts. */
  total: string;
}

export interface BalanceGrant {
  id: string; amount: string; remaining: string; effective_at: string; expires_at: string | null; priority: number;
}

export interface Balance {
  as_of: string;
  period: { start: string; end: string; start_date: string };
  unit_name: string;
  currency: string;
  usage: {
    units: string; license_seconds: number; billed_license_seconds: number;
    by_feature: { feature: string; units: string; draws: number; license_seconds: number; billed_license_seconds: number }[];
    unrated_features: string[];
  };
  grants: BalanceGrant[];
  granted_units: string;
  remaining_units: string | null;
  overage_units: string;
  unbilled_overage_units: string;
  charges: { fixed: string; usage: string; adjustments: string; total: string };
  status: "ok" | "low" | "exhausted" | "blocked";
}

/** RFC 3339 UTC without milliseconds when they are zero (as the API prints instants). */
export function isoInstant(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith(".000Z") ? iso.slice(0, -5) + "Z" : iso;
}
