// Low-balance alerts and the event outbox (DESIGN.md §7 "Webhooks"). An event is a row created
// once, in the transaction of the change that caused it, with a stable `event_id` and a body
// fixed at creation (so every delivery attempt sends the same bytes). Thresholds are % of the
// granted units: crossing one downwards creates one event (`balance.low`, or
// `balance.exhausted` for 0 %); rising back above it re-arms it.
// Events are only created while a webhook is configured: there is nobody to tell otherwise.
import type { Balance } from "../../shared/pricing/index.ts";
import { parseScaled } from "../../shared/decimal/decimal.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";

export const DEFAULT_LOW_THRESHOLDS_PCT = [20, 10, 0];

export interface AlertConfig { webhook_url: string; low_thresholds_pct: number[] }

/**
 * The % of granted units at or below which the balance's `status` is `low`: the highest alert
 * threshold, so the balance, the status page and the `balance.low` events say the same thing
 * (thresholds [50, 0] make 40 % left `low`; [0] alone makes nothing `low`, only `exhausted`).
 * Undefined without alert settings: pricing's default (20, the default thresholds' highest).
 */
export function lowThresholdPct(config: AlertConfig | undefined): number | undefined {
  return config === undefined ? undefined : Math.max(...config.low_thresholds_pct);
}

export function loadAlertConfig(sql: SqlStorage): AlertConfig | undefined {
  const row = sql.exec<{ webhook_url: string; thresholds_json: string }>("SELECT webhook_url, thresholds_json FROM alert_config").toArray()[0];
  return row ? { webhook_url: row.webhook_url, low_thresholds_pct: JSON.parse(row.thresholds_json) as number[] } : undefined;
}

export function saveAlertConfig(sql: SqlStorage, config: AlertConfig, now: number): void {
  sql.exec(
    "INSERT INTO alert_config (one, webhook_url, thresholds_json, updated_at) VALUES (1, ?, ?, ?) ON CONFLICT (one) DO UPDATE SET webhook_url = excluded.webhook_url, thresholds_json = excluded.thresholds_json, updated_at = excluded.updated_at",
    config.webhook_url, JSON.stringify(config.low_thresholds_pct), now);
  sql.exec("DELETE FROM alert_state WHERE threshold NOT IN (SELECT value FROM json_each(?))", JSON.stringify(config.low_thresholds_pct));
}

export function createEvent(sql: SqlStorage, contractId: string, type: string, data: Record<string, unknown>, now: number): void {
  if (!loadAlertConfig(sql)) return;
  const event_id = newId("evt");
  const body = JSON.stringify({ event_id, type, created_at: instant(now), contract_id: contractId, data });
  sql.exec("INSERT INTO events (event_id, type, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?, 0)", event_id, type, body, now);
}

/** Compares the balance with each threshold; fires newly crossed ones (unless `silent`), re-arms the others. */
export function checkThresholds(sql: SqlStorage, contractId: string, config: AlertConfig, balance: Balance, now: number, options: { silent?: boolean } = {}): void {
  if (balance.remaining_units === null) return;
  const granted = parseScaled(balance.granted_units, 6);
  const remaining = parseScaled(balance.remaining_units, 6);
  const fired = new Set(sql.exec<{ threshold: number }>("SELECT threshold FROM alert_state WHERE fired = 1").toArray().map((r) => r.threshold));
  // Highest threshold first, so a drop through several creates their events in the order crossed.
  for (const pct of [...config.low_thresholds_pct].sort((a, b) => b - a)) {
    // 0 % is "exhausted" when the balance says so: the units shown have 6 decimals, and a remainder
    // below 10^-6 shows as 0 while the exact status is still "low". (Blocked with 0 shown is exhausted
    // too; blocked with units shown left is a grant that starts later in the period.)
    const exhausted = balance.status === "exhausted" || (balance.status === "blocked" && remaining === 0n);
    const crossed = granted > 0n && (pct === 0 ? exhausted : remaining * 100n <= granted * BigInt(pct));
    if (crossed === fired.has(pct)) continue;
    sql.exec("INSERT INTO alert_state (threshold, fired) VALUES (?, ?) ON CONFLICT (threshold) DO UPDATE SET fired = excluded.fired", pct, crossed ? 1 : 0);
    if (crossed && !options.silent) {
      createEvent(sql, contractId, pct === 0 ? "balance.exhausted" : "balance.low", {
        threshold_pct: pct, remaining_units: balance.remaining_units, granted_units: balance.granted_units,
        unit_name: balance.unit_name, status: balance.status, period: balance.period,
      }, now);
    }
  }
}
