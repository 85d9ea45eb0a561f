// A source's health as `status` and /metrics show it: up or not, the last error and when it will
// be retried (an error in one source backs off that source only: interval × 2^failures, at most
// 15 minutes, or the interval when longer), its counters, its backlog progress and the licenses it
// sees held.
import type { SourceTotals } from "./source-totals.ts";

export const MAX_RETRY_MS = 15 * 60_000;

export interface SourceProgress {
  offset: number;
  size: number;
  /** Share of the file read, 0–100 with one decimal. */
  percent: number;
  caught_up: boolean;
  lines_per_s: number | null;
  eta_s: number | null;
}

export interface SourceHealthView {
  source: string;
  kind: string;
  /** null until the source said anything about its server. */
  up: boolean | null;
  at: number | null;
  last_ok: number | null;
  /** `reason` says which refusal a `bad_config` is (read_before, settings_changed, timezone_mismatch…). */
  last_error: { at: number; message: string; code?: string; reason?: string } | null;
  consecutive_failures: number;
  retry_at: number | null;
  totals: SourceTotals;
  progress: SourceProgress | null;
  licenses_in_use: Record<string, number>;
}

export class SourceHealth {
  readonly view: SourceHealthView;
  readonly #intervalMs: number;
  /** Lines and time when the current backlog read began, for its rate and ETA. */
  #rateFrom: { at: number; lines: number; offset: number } | null = null;

  constructor(source: string, kind: string, intervalS: number, totals: SourceTotals) {
    this.#intervalMs = intervalS * 1000;
    this.view = {
      source, kind, up: null, at: null, last_ok: null, last_error: null, consecutive_failures: 0, retry_at: null,
      totals: { ...totals }, progress: null, licenses_in_use: {},
    };
  }

  /** A step went through; `up` is what the source says about its server (undefined: unknown). */
  ok(now: number, up: boolean | undefined, reason?: string): void {
    const v = this.view;
    v.up = up ?? v.up ?? true;
    v.at = now;
    if (up !== false) v.last_ok = now;
    if (up === false && reason) v.last_error = { at: now, message: reason };
    else if (up === true) v.last_error = null;
    v.consecutive_failures = 0;
    v.retry_at = null;
  }

  /** The step failed: report it and say when to try again. */
  failed(now: number, error: unknown): number {
    const v = this.view;
    v.up = false;
    v.at = now;
    v.consecutive_failures++;
    const code = (error as { code?: unknown }).code;
    const reason = (error as { details?: { reason?: unknown } }).details?.reason;
    v.last_error = { at: now, message: (error as Error).message ?? String(error), ...(typeof code === "string" ? { code } : {}), ...(typeof reason === "string" ? { reason } : {}) };
    // Backing off never retries sooner than the configured interval (an hourly poll stays hourly).
    const delay = Math.min(Math.max(MAX_RETRY_MS, this.#intervalMs), this.#intervalMs * 2 ** Math.min(v.consecutive_failures - 1, 20));
    v.retry_at = now + delay;
    return v.retry_at;
  }

  totals(totals: SourceTotals, licenses: Record<string, number>): void {
    this.view.totals = { ...totals };
    this.view.licenses_in_use = licenses;
  }

  progress(now: number, offset: number, size: number, caughtUp: boolean): void {
    const lines = this.view.totals.lines;
    if (caughtUp) this.#rateFrom = null;
    else this.#rateFrom ??= { at: now, lines, offset };
    const from = this.#rateFrom;
    const elapsed = from ? (now - from.at) / 1000 : 0;
    const bytesPerS = from && elapsed > 0 ? (offset - from.offset) / elapsed : 0;
    this.view.progress = {
      offset, size, percent: size > 0 ? Math.round((Math.min(offset, size) / size) * 1000) / 10 : 100, caught_up: caughtUp,
      lines_per_s: from && elapsed > 0 ? Math.round((lines - from.lines) / elapsed) : null,
      eta_s: !caughtUp && bytesPerS > 0 ? Math.round((size - offset) / bytesPerS) : caughtUp ? 0 : null,
    };
  }
}
