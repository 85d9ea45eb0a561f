// The ContractDO's alarm: when it runs (DrainAlarm: never later than pending work asks), and what
// a run does: a few steps of a resolved fork's old branch, a few chunks of a pending re-rating, the
// freeze of periods that closed (production only), site and grant notices, the outbox drain to D1,
// a few pages of the history from before D1's daily and monthly rollups, then webhook deliveries.
// Every step catches its own failure and asks for a retry with backoff: the runtime retries a
// throwing alarm only a few times, and the outbox must survive a long D1 outage.
import { edgeKey } from "../auth/edge-key.ts";
import { allowsDevelopmentAids, isProduction, type Env } from "../env.ts";
import type { ContractBilling } from "./billing.ts";
import { nextNoticeAt } from "./notices.ts";
import { drainOutbox } from "./outbox.ts";
import { backfillCoarse } from "../usage-coarse-backfill.ts";
import type { ContractTerms } from "./terms.ts";
import { sendWebhook } from "./webhook-transport.ts";
import { deliverDueEvents } from "./webhooks.ts";

const MAX_BACKOFF_MS = 5 * 60 * 1000;
/** Delay before draining after a write, so a burst of batches is drained in one pass. */
export const DRAIN_DELAY_MS = 1000;
const MAX_DRAIN_DELAY_MS = 24 * 3600_000;

/**
 * The delay before draining: DRAIN_DELAY_MS, or TALLY_DRAIN_DELAY_MS in development and test (the
 * edge-ingest bench holds the drain out of its timed apply and times the drain apart). Set in
 * production or malformed, it throws: a setting is never silently ignored.
 */
export function drainDelayMs(env: Pick<Env, "TALLY_ENV" | "TALLY_DRAIN_DELAY_MS">): number {
  const text = env.TALLY_DRAIN_DELAY_MS;
  if (text === undefined || text === "") return DRAIN_DELAY_MS;
  if (!allowsDevelopmentAids(env)) throw new Error("TALLY_DRAIN_DELAY_MS is only accepted in development and test");
  const ms = /^\d{1,9}$/.test(text) ? Number(text) : NaN;
  if (!(ms <= MAX_DRAIN_DELAY_MS)) throw new Error(`TALLY_DRAIN_DELAY_MS must be integer ms from 0 to ${MAX_DRAIN_DELAY_MS}, got "${text}"`);
  return ms;
}
/** After a failed backfill page: D1 is likely down, and the drain backs off too. */
const COARSE_RETRY_MS = 60_000;
/** Re-rating chunks per alarm run: bounded CPU per run (≈ 4 × 4,000 intervals), fewer runs in all. */
const RERATE_CHUNKS_PER_ALARM = 4;
/** Steps of a resolved fork's old branch per alarm run (≈ 4 × SUPERSEDE_CHUNK records). */
const SUPERSEDE_STEPS_PER_ALARM = 4;

/** Work the alarm goes on with in chunks: a re-rating, usage stored before pricing, a resolved
 * fork's old branch. After an eviction the DO re-arms the alarm for them (contract-do.ts). */
export function jobsPending(sql: SqlStorage): boolean {
  return sql.exec(`SELECT 1 FROM rating_state WHERE job_json IS NOT NULL
    UNION ALL SELECT 1 FROM stored_usage_queue UNION ALL SELECT 1 FROM fork_jobs LIMIT 1`).toArray().length > 0;
}

export interface AlarmHost {
  sql: SqlStorage;
  env: Env;
  billing: ContractBilling;
  terms(): ContractTerms;
  /** transactionSync that drops the billing caches on rollback. */
  transact<T>(f: () => T): T;
  /** One step of a resolved fork's old branch (fork-resolution.ts `supersedeStep`), in the caller's transaction. */
  supersede(now: number): "none" | "more" | "done";
  publishBalance(now: number): void;
  checkNotices(now: number): void;
  /** False until a run finds the contract's D1 usage_days and usage_months whole (usage-coarse-backfill.ts). */
  coarse: { whole: boolean };
}

/** When the ContractDO's alarm should next run: never later than work already asks for. */
export class DrainAlarm {
  readonly #storage: DurableObjectStorage;
  /** ms after a write before the alarm drains; a bad setting fails every request. */
  readonly #delay: number;

  constructor(storage: DurableObjectStorage, env: Env) {
    this.#storage = storage;
    this.#delay = drainDelayMs(env);
  }

  /** After a write: a burst of writes is drained in one pass. */
  soon(): Promise<void> {
    return this.at(Date.now() + this.#delay);
  }

  /** When the outbox, the event queue or a job (jobsPending) has work (after a pricing change). */
  async ifPending(): Promise<void> {
    const sql = this.#storage.sql;
    const pending = sql.exec<{ n: number }>("SELECT EXISTS (SELECT 1 FROM outbox) + EXISTS (SELECT 1 FROM events WHERE delivered_at IS NULL) AS n").one().n;
    if (pending > 0 || jobsPending(sql)) await this.soon();
  }

  async at(at: number): Promise<void> {
    const current = await this.#storage.getAlarm();
    if (current === null || current > at) await this.#storage.setAlarm(at);
  }
}

/** One alarm run; answers when the next should be (null: nothing pending). */
export async function runAlarm(host: AlarmHost): Promise<number | null> {
  const { sql, env, billing } = host;
  let next: number | null = null;
  const soonest = (at: number) => { next = next === null ? at : Math.min(next, at); };
  // A resolved fork's old branch first (its usage is still in the figures, and no period freezes
  // until it is out): a few steps per run, each its own transaction (a retry redoes at most one).
  try {
    let step = host.transact(() => host.supersede(Date.now()));
    for (let k = 1; k < SUPERSEDE_STEPS_PER_ALARM && step === "more"; k++) step = host.transact(() => host.supersede(Date.now()));
    if (step === "more") soonest(Date.now());
    if (step === "done" && isProduction(env)) host.publishBalance(Date.now());
  } catch (error) {
    console.error("moving a resolved fork's old branch failed, retrying:", error);
    soonest(Date.now() + 1000);
  }
  // A few chunks of a re-rating job per run, each its own transaction (a retry redoes at most one).
  try {
    let step = host.transact(() => billing.rerateChunk(host.terms(), Date.now()));
    for (let k = 1; k < RERATE_CHUNKS_PER_ALARM && step === "more"; k++) step = host.transact(() => billing.rerateChunk(host.terms(), Date.now()));
    if (step === "more") soonest(Date.now());
    // Outside production requests may carry an injected clock: the next request publishes.
    if (step === "done" && isProduction(env)) host.publishBalance(Date.now());
  } catch (error) {
    console.error("re-rating failed, retrying:", error);
    soonest(Date.now() + 1000);
  }
  // Periods that closed since the last request are frozen here too (their period.closed event
  // then goes out with this run). The alarm runs on the real clock, so only in production:
  // elsewhere requests may carry an injected clock, and only they freeze.
  if (isProduction(env)) {
    try { host.transact(() => billing.freezeDue(host.terms(), Date.now())); } catch (error) { console.error("freezing closed periods failed:", error); }
    host.checkNotices(Date.now());
    const notice = nextNoticeAt(sql, host.terms(), Date.now());
    if (notice !== null) soonest(notice);
  }
  try {
    const remaining = await drainOutbox(sql, env.DB, host.terms().contract_id);
    sql.exec("UPDATE drain_state SET failures = 0");
    if (remaining > 0) soonest(Date.now());
  } catch (error) {
    const failures = sql.exec<{ failures: number }>("UPDATE drain_state SET failures = failures + 1 RETURNING failures").one().failures;
    const delay = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures - 1, 20));
    console.error(`outbox drain failed (attempt ${failures}), retrying in ${delay} ms:`, error);
    soonest(Date.now() + delay);
  }
  // The contract's hourly history from before D1's daily and monthly rollups, a few pages per run
  // (one D1 read per DO instance once it is whole).
  if (!host.coarse.whole) {
    try {
      if (await backfillCoarse(env.DB, host.terms().contract_id) === "done") host.coarse.whole = true;
      else soonest(Date.now());
    } catch (error) {
      console.error("summing older usage into the daily and monthly rollups failed, retrying:", error);
      soonest(Date.now() + COARSE_RETRY_MS);
    }
  }
  // Webhooks after the drain, with their own backoff: a dead endpoint never holds up D1.
  try {
    const due = await deliverDueEvents(sql, edgeKey(env.EDGE_SIGNING_KEY), (url, init) => sendWebhook(env, url, init), Date.now());
    if (due !== null) soonest(due);
  } catch (error) {
    console.error("webhook delivery failed:", error);
  }
  return next;
}
