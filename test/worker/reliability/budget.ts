// Iteration budgets and seeds for the randomised suites that run inside workerd, where
// process.env is not the host's: SOAK and SEED reach them as bindings (vitest.config.ts).
// CI budget by default; `SOAK=1` scales up; every run prints its seed; `SEED=n` replays it.
import { mulberry32 } from "../../../shared/random/mulberry32.ts";
import { env } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env { SOAK: string; SEED: string }
  }
}

export const SOAK = (env.SOAK ?? "") !== "";

/** `ci` normally, `soak` under SOAK=1. */
export function budget(ci: number, soak: number): number {
  return SOAK ? soak : ci;
}

/** The run's seed (SEED=n replays one), printed so a failure can be replayed. */
export function runSeed(label: string): number {
  const given = env.SEED ?? "";
  const seed = given !== "" ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[seed] ${label}: SEED=${seed}${SOAK ? " (SOAK)" : ""}`);
  return seed;
}

export type Random = () => number;

/** Small, deterministic, good enough to pick tamper positions. */
export const seededRandom: (seed: number) => Random = mulberry32;

/** An integer in [lo, hi]. */
export function between(random: Random, lo: number, hi: number): number {
  return lo + Math.floor(random() * (hi - lo + 1));
}

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
