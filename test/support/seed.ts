// Seeds for randomised tests: printed on every run, replayed with SEED=<n>.
export function testSeed(label: string): number {
  const seed = process.env.SEED !== undefined ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[seed] ${label}: SEED=${seed}`);
  return seed;
}

/** Small deterministic PRNG for tests that need randomness outside fast-check. */
export { mulberry32 as seededRandom } from "../../shared/random/mulberry32.ts";
