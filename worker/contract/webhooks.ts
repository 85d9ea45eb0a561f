// Delivers the DO's events to the contract's webhook, at least once (DESIGN.md §7): each pending
// event is POSTed with its stored body and `Tally-Signature: t=…,key_id=…,sig=…` (Ed25519 over
// "tally/webhook/v1\n" + t + "\n" + body, signed with the edge key); a failure backs off
// (1 s doubling to 1 h) per event. Runs from the alarm after the D1 drain and catches its own
// failures, so a dead webhook never holds up the drain.
import { signWebhook } from "../../shared/protocol/index.ts";
import type { EdgeKey } from "../auth/edge-key.ts";
import { loadAlertConfig } from "./alerts.ts";

export type SendWebhook = (url: string, init: RequestInit) => Promise<Response>;

const EVENTS_PER_RUN = 20;
const MAX_BACKOFF_MS = 3600_000;
const TIMEOUT_MS = 10_000;

export function signatureHeader(t: number, body: string, key: EdgeKey): string {
  return `t=${t},key_id=${key.key_id},sig=${signWebhook(t, body, key.secret_key)}`;
}

/** Sends due events; returns when the next pending event is due (null: none pending). */
export async function deliverDueEvents(sql: SqlStorage, key: EdgeKey, send: SendWebhook, now: number): Promise<number | null> {
  const config = loadAlertConfig(sql);
  if (config) {
    // `+seq`: ordered by seq, SQLite walked the whole table in seq order — every event ever
    // delivered — instead of the partial index of pending ones (events_pending).
    const due = sql.exec<{ seq: number; event_id: string; body: string; attempts: number }>(
      "SELECT seq, event_id, body, attempts FROM events WHERE delivered_at IS NULL AND next_attempt_at <= ? ORDER BY +seq LIMIT ?", now, EVENTS_PER_RUN).toArray();
    for (const e of due) {
      const t = Math.floor(Date.now() / 1000);
      let error: string | null = null;
      try {
        const res = await send(config.webhook_url, {
          method: "POST", body: e.body, signal: AbortSignal.timeout(TIMEOUT_MS),
          headers: { "Content-Type": "application/json", "Tally-Signature": signatureHeader(t, e.body, key), "Tally-Event-Id": e.event_id },
        });
        await res.body?.cancel();
        if (!res.ok) error = `HTTP ${res.status}`;
      } catch (err) {
        error = String(err);
      }
      if (error === null) sql.exec("UPDATE events SET delivered_at = ?, attempts = attempts + 1 WHERE seq = ?", Date.now(), e.seq);
      else {
        const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(e.attempts, 20));
        sql.exec("UPDATE events SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?", Date.now() + delay, error, e.seq);
      }
    }
  }
  return sql.exec<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM events WHERE delivered_at IS NULL").one().at ?? null;
}
