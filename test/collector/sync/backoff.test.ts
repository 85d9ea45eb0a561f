// Backoff while the edge is unreachable: full jitter under an exponential ceiling capped at the
// maximum, a per-command cap on attempts, reproducible from a seed.
import { describe, expect, it } from "vitest";
import { backoffCeiling, backoffDelay, EdgeUnreachable, seededRandom, withBackoff, type BackoffPolicy } from "../../../collector/sync/backoff.ts";

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`backoff.test.ts SEED=${SEED}`);

const policy: BackoffPolicy = { baseMs: 100, maxMs: 5000, maxAttempts: 5 };

describe("backoff schedule", () => {
  it("has a ceiling of base·2^attempt, capped at max", () => {
    expect(Array.from({ length: 9 }, (_, a) => backoffCeiling(a, policy))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
    expect(backoffCeiling(5000, policy)).toBe(5000);
  });

  it("draws every delay in [0, ceiling) (full jitter), for 10,000 draws from the seed", () => {
    const random = seededRandom(SEED);
    for (let i = 0; i < 10_000; i++) {
      const attempt = i % 12;
      const d = backoffDelay(attempt, policy, random);
      expect(Number.isInteger(d) && d >= 0 && d < backoffCeiling(attempt, policy)).toBe(true);
    }
  });

  it("takes the ends of the interval from the random source: 0 → 0 and just below 1 → ceiling − 1", () => {
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
    expect(backoffDelay(3, policy, () => 0.999999999)).toBe(799);
  });

  it("replays the same schedule from the same seed", () => {
    const a = seededRandom(SEED);
    const b = seededRandom(SEED);
    const schedule = (r: () => number) => Array.from({ length: 20 }, (_, i) => backoffDelay(i, policy, r));
    expect(schedule(a)).toEqual(schedule(b));
  });
});

describe("withBackoff", () => {
  it("gives up after maxAttempts attempts in all, waiting the drawn delay between them", async () => {
    const waits: number[] = [];
    let calls = 0;
    const random = seededRandom(SEED);
    const replay = seededRandom(SEED);
    const expectedWaits = [0, 1, 2, 3].map((a) => backoffDelay(a, policy, replay));
    await expect(withBackoff(async () => { calls++; throw new EdgeUnreachable("ECONNREFUSED"); }, { policy, random, wait: async (ms) => { waits.push(ms); } }))
      .rejects.toThrow("ECONNREFUSED");
    expect(calls).toBe(5);
    expect(waits).toEqual(expectedWaits);
  });

  it("shares one budget across the requests of a command", async () => {
    const budget = { failures: 0 };
    const options = { policy, random: seededRandom(SEED), budget, wait: async () => {} };
    let n = 0;
    // 3 failures, then success: the budget remembers them.
    await withBackoff(async () => { if (n++ < 3) throw new EdgeUnreachable("timeout"); return "ok"; }, options);
    expect(budget.failures).toBe(3);
    let later = 0;
    await expect(withBackoff(async () => { later++; throw new EdgeUnreachable("timeout"); }, options)).rejects.toBeInstanceOf(EdgeUnreachable);
    expect(later).toBe(2);
  });

  it("does not retry an answer that is not 'unreachable'", async () => {
    let calls = 0;
    await expect(withBackoff(async () => { calls++; throw new Error("bad_signature"); }, { policy, random: Math.random, wait: async () => {} })).rejects.toThrow("bad_signature");
    expect(calls).toBe(1);
  });
});
