// Draws against a reference simple enough to check by eye (issue 15): for random sessions of a few
// users on a coarse time grid (so uses fall exactly on window ends), cut into intervals that arrive
// in random order and batches, with some sessions removed again, the live ledger's draws and units
// per feature equal a fold that sorts each key's session starts and counts greedy windows; and the
// pure rating (`rateIntervals`) says the same. The seed is printed; replay with SEED=<n>.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { computeBalance, LiveLedger, LiveStatements, pricingTerms, type UsageInterval } from "../../../shared/pricing/index.ts";
import { H, MIN, NOV, graduated, input, plan } from "./contract-fixture.ts";
import { MemoryLiveStore } from "./memory-live-store.ts";

const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`draw properties: SEED=${seed}`);

const WINDOW_H = 6;
const PLAN = plan({
  model: "pay_per_use", price: graduated([null, "1"]),
  rates: { CAD: { per: "use_window", units: "5", window_s: WINDOW_H * 3600 }, SIM: { per: "checkout", units: "2" }, "*": "1" },
});

const sessionArb = fc.record({
  user: fc.constantFrom("ann", "bob"),
  feature: fc.constantFrom("CAD", "SIM"),
  // Starts on a 30-minute grid over a day: windows of 6 h cover, chain, shift in cascades and touch end to start.
  slot: fc.integer({ min: 0, max: 48 }),
  cuts_min: fc.array(fc.integer({ min: 1, max: 200 }), { minLength: 1, maxLength: 3 }),
  count: fc.integer({ min: 1, max: 3 }),
});
const scenarioArb = fc.record({
  sessions: fc.array(sessionArb, { minLength: 1, maxLength: 30 }),
  order: fc.array(fc.nat(), { minLength: 80, maxLength: 80 }),
  batch: fc.integer({ min: 1, max: 6 }),
  removed: fc.array(fc.nat(), { maxLength: 3 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** The reference: per key the sorted session starts, a window opening at each start no window covers. */
function reference(sessions: Scenario["sessions"], live: Set<number>): Map<string, { draws: number; units: number }> {
  const out = new Map<string, { draws: number; units: number }>();
  const add = (feature: string, draws: number, units: number) => {
    const f = out.get(feature) ?? { draws: 0, units: 0 };
    out.set(feature, { draws: f.draws + draws, units: f.units + units });
  };
  const starts = new Map<string, number[]>();
  sessions.forEach((s, i) => {
    if (!live.has(i)) return;
    if (s.feature === "SIM") { add("SIM", s.count, 2 * s.count); return; }
    starts.set(s.user, [...(starts.get(s.user) ?? []), s.slot * 30]);
  });
  for (const list of starts.values()) {
    let end = -Infinity;
    for (const m of list.sort((a, b) => a - b)) if (m >= end) { add("CAD", 1, 5); end = m + WINDOW_H * 60; }
  }
  return out;
}

function intervalsOf(s: Scenario): UsageInterval[] {
  const out: UsageInterval[] = [];
  s.sessions.forEach((sess, i) => {
    let t = NOV + H + sess.slot * 30 * MIN;
    sess.cuts_min.forEach((len, k) => {
      out.push({ ref: `site:${i * 10 + k}`, session: `site:s${i}`, feature: sess.feature, user: sess.user, start: t, end: t + len * MIN, count: sess.count, received_at: 0 });
      t += len * MIN;
    });
  });
  return out;
}

function run(s: Scenario): void {
  const all = intervalsOf(s);
  // A random arrival order (a permutation driven by `order`), received in batches.
  const pending = [...all];
  const arrival: UsageInterval[] = [];
  for (let i = 0; pending.length > 0; i++) arrival.push(pending.splice(s.order[i % s.order.length]! % pending.length, 1)[0]!);
  const terms = pricingTerms({ start: "2026-11-01", timezone: "UTC", period: "month" }, [{ effective_at: NOV, plan: PLAN }], []);
  const ledger = new LiveLedger(new MemoryLiveStore(), terms);
  const at = NOV + 20 * 24 * H;
  for (let i = 0; i < arrival.length; i += s.batch) ledger.add(arrival.slice(i, i + s.batch).map((iv) => ({ ...iv, received_at: at })));
  const gone = new Set(s.removed.map((k) => k % s.sessions.length));
  ledger.remove(all.filter((iv) => gone.has(Number(iv.session.slice("site:s".length)))));
  const live = new Set(s.sessions.map((_, i) => i).filter((i) => !gone.has(i)));

  const ref = reference(s.sessions, live);
  const hours = all.filter((iv) => live.has(Number(iv.session.slice("site:s".length))));
  const byFeature = (b: ReturnType<typeof computeBalance>) => new Map(b.usage.by_feature.map((f) => [f.feature, { draws: f.draws, units: Number(f.units) }]));
  expect(byFeature(new LiveStatements(ledger).balance(at))).toEqual(ref);
  expect(byFeature(computeBalance(input(PLAN, hours.map((iv) => ({ ...iv, received_at: at }))), at))).toEqual(ref);
}

describe("draws equal greedy windows over sorted session starts", () => {
  it("for random sessions, cuts, arrival orders, batches and removals", () => {
    fc.assert(fc.property(scenarioArb, run), { seed, numRuns: Number(process.env.SOAK ? 3000 : 200) });
  });
});
