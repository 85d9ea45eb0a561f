// Record bodies the session tracker produces: the `{kind, data}` of DESIGN.md §4, before the log
// wraps them in the signed envelope. Integers only; optional fields are omitted, never null.

export interface UsageData {
  source: string;
  daemon: string;
  feature: string;
  version?: string;
  /** Token pools: the product that drew the tokens; `feature` is the pool (DESIGN.md §4). */
  product?: string;
  user: string;
  host: string;
  session: string;
  /** [start, end) in ms since the epoch, whole seconds. */
  start: number;
  end: number;
  count: number;
  /** True on the interval that ends the session. */
  final: boolean;
}

export interface DenialData {
  source: string;
  daemon: string;
  feature: string;
  user: string;
  host: string;
  at: number;
  reason: string;
}

export interface HeartbeatData {
  sources: Array<{ source: string; up: boolean; at: number }>;
}

export type RecordBody =
  | { kind: "usage"; data: UsageData }
  | { kind: "denial"; data: DenialData }
  | { kind: "heartbeat"; data: HeartbeatData };
