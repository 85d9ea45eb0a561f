// Exponential backoff with full jitter (delay drawn uniformly from [0, min(max, base·2^attempt)))
// while the edge is unreachable, with a cap on attempts per sync command. The random source is
// injectable so the schedule is reproducible in tests.
import { mulberry32 } from "../../shared/random/mulberry32.ts";

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
  /** Attempts in total (the first try included) before giving up with edge_unreachable. */
  maxAttempts: number;
}

export const defaultBackoff: BackoffPolicy = { baseMs: 500, maxMs: 60_000, maxAttempts: 6 };

/** The ceiling of the delay after failed attempt number `attempt` (0-based). */
export function backoffCeiling(attempt: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 52));
}

/** Full jitter: uniform in [0, ceiling). `random` returns [0, 1). */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number): number {
  return Math.floor(random() * backoffCeiling(attempt, policy));
}

/** A seeded PRNG for reproducible jitter (TALLY_JITTER_SEED). */
export const seededRandom = mulberry32;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown by an operation when the edge could not be reached (refused, timed out, 5xx). */
export class EdgeUnreachable extends Error {
  readonly reason: string;
  constructor(reason: string) {
    super(reason);
    this.name = "EdgeUnreachable";
    this.reason = reason;
  }
}

export interface RetryOptions {
  policy: BackoffPolicy;
  random: () => number;
  /** Shared by every request of one command, so the cap is per command, not per request. */
  budget?: RetryBudget;
  wait?: (ms: number) => Promise<void>;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
}

export interface RetryBudget { failures: number }

/** Runs `op` until it does not throw EdgeUnreachable or the budget of attempts is spent (then
 *  rethrows the last EdgeUnreachable). */
export async function withBackoff<T>(op: () => Promise<T>, options: RetryOptions): Promise<T> {
  const wait = options.wait ?? sleep;
  const budget = options.budget ?? { failures: 0 };
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (e) {
      if (!(e instanceof EdgeUnreachable)) throw e;
      budget.failures++;
      if (budget.failures >= options.policy.maxAttempts) throw e;
      const delay = backoffDelay(attempt, options.policy, options.random);
      options.onRetry?.(budget.failures, delay, e.reason);
      await wait(delay);
    }
  }
}
