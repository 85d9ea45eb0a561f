// Seeds for randomised tests: printed on every run, replayed with SEED=<n>.
export function testSeed(label: string): number {
  const seed = process.env.SEED !== undefined ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31);
  console.log(`[seed] ${label}: SEED=${seed}`);
  return seed;
}

/** Small deterministic PRNG (mulberry32) for tests that need randomness outside fast-check. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
