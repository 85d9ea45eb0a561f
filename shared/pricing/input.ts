// The plain, serialisable data the pricing engine is a pure function of (DESIGN §6: "balances are
// a pure function of plan versions, grants and records"). Instants are UTC ms; decimals are strings.
import type { PeriodContract } from "./periods.ts";
import type { Plan } from "./plan-schema.ts";
import type { Statement } from "./statement-shape.ts";

export interface ContractInput extends PeriodContract {
  /** `low` when remaining ≤ this % of granted units; default 20. */
  low_threshold_pct?: number;
}

/** A plan version in force from `effective_at`; the earliest version also covers any time before it. */
export interface PlanVersion { effective_at: number; plan: Plan }

export interface GrantInput {
  id: string;
  /** Units, decimal string (≤ 12 decimals). */
  amount: string;
  /** Lower burns first; default 0. */
  priority?: number;
  /** Default: the start of the period containing `created_at`. */
  effective_at?: number | null;
  /** Exclusive; null or absent = never. */
  expires_at?: number | null;
  created_at: number;
}

/** One usage interval [start, end) of a session holding `count` licenses (a protocol `usage` record). */
export interface UsageInterval {
  /** Record reference, e.g. `${collector_id}:${seq}`; carried onto statement lines. */
  ref: string;
  feature: string;
  /** Session key, unique within the contract (the edge uses `${collector_id}:${session}`). */
  session: string;
  start: number;
  end: number;
  count: number;
  /** When the edge received the record: decides on-time vs late (DESIGN §5). */
  received_at: number;
  /** Who and where, for use-window keys (DESIGN §5 "Feature → units"); absent counts as "". */
  user?: string;
  host?: string;
  /** The site (the edge uses the collector id). */
  site?: string;
}

export interface PricingInput {
  contract: ContractInput;
  plans: PlanVersion[];
  grants: GrantInput[];
  intervals: UsageInterval[];
  /** Frozen statements of closed periods (the closed periods are a prefix of the contract's periods). */
  frozen?: Statement[];
}
