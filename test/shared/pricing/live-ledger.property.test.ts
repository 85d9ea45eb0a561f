// The live ledger (incremental aggregates, as the ContractDO keeps them) against the pure fold of
// shared/pricing (the oracle), for random timelines: usage in batches of random size, sessions whose
// intervals arrive out of order and late (after their period closed), grants and plan versions added
// along the way (re-rated by jobs in small chunks while batches keep arriving), records removed
// (a superseded fork branch), and periods closed lazily, in order. At every close the frozen
// statement equals the oracle's; at the end the balance, every statement and every open line's
// trace to its records do too. The seed is printed; replay with SEED=<n>.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  balanceFromLedger, compareRefs, grantChange, LiveLedger, LiveStatements, ledgerFromIntervals, ledgerSource, periodAt, periodByIndex,
  periodCloseAt, planVersionChange, pricedStatement, pricingTerms, rateIntervals, statementFromLedger, traceLine,
  type GrantInput, type Plan, type PlanVersion, type PricingTerms, type RecordRun, type Statement, type UsageInterval,
} from "../../../shared/pricing/index.ts";
import { H, NOV, graduated, plan, volume } from "./contract-fixture.ts";
import { MemoryLiveStore } from "./memory-live-store.ts";

const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`live ledger properties: SEED=${seed}`);
const DAY = 24 * H;

const PLANS: Plan[] = [
  plan({ model: "prepaid_overage", overage: { policy: "allow" }, rates: { A: "1.5", "*": "0.25" }, price: graduated(["10", "0.7", "2"], [null, "0.3", "1"]) }),
  plan({ model: "hybrid", fixed_fee: "50", included_units: "3", minimum_commitment: "80", rates: { A: "1", B: "0.5" }, price: volume(["5", "2"], [null, "1.5"]) }),
  plan({ model: "token", overage: { policy: "limit", limit_units: "4" }, rates: { "*": "1" }, price: graduated([null, "3"]) }),
  plan({ model: "pay_per_use", rates: { A: "2", C: "0.125" }, price: graduated(["2", "1", "5"], [null, "0.5"]) }),
  // Draws: daily windows per user and feature, credits per job, license-hours beside them.
  plan({ model: "token", overage: { policy: "allow" }, rates: { A: { per: "use_window", units: "3" }, B: { per: "checkout", units: "2" }, "*": "0.5" }, price: graduated(["8", "1"], [null, "0.5"]) }),
  plan({ model: "pay_per_use", rates: { "*": { per: "use_window", units: "1.5", window_s: 6 * 3600, key: ["user"] }, C: { per: "use_window", units: "4", window_s: 36 * 3600, key: ["host", "feature"] } }, price: graduated([null, "1"]) }),
  // No price: a version that blocks overage, mid-period after one that bills it (priced by the period-start version).
  plan({ model: "prepaid_overage", overage: { policy: "block" }, rates: { A: "1", "*": "0.5" } }),
];

const sessionArb = fc.record({
  // Some sessions close together on whole hours, so that windows cover, shift, cross period ends
  // and start exactly where another ends.
  offset_s: fc.oneof(fc.integer({ min: 0, max: 80 * 86_400 }), fc.integer({ min: 28 * 24, max: 31 * 24 }).map((h) => h * 3600)),
  user: fc.constantFrom("ann", "bob"),
  host: fc.constantFrom("ws1", "ws2"),
  lengths_s: fc.array(fc.integer({ min: 1, max: 30_000 }), { minLength: 1, maxLength: 4 }),
  count: fc.integer({ min: 1, max: 3 }),
  feature: fc.constantFrom("A", "B", "C"),
  delays_h: fc.array(fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 40 * 24 })), { minLength: 4, maxLength: 4 }),
});
const grantArb = fc.record({
  amount: fc.integer({ min: 1, max: 30 }), priority: fc.integer({ min: 0, max: 1 }),
  at_h: fc.integer({ min: 0, max: 85 * 24 }),
  effective_h: fc.option(fc.integer({ min: -20 * 24, max: 20 * 24 }), { nil: null }),
  expires_h: fc.option(fc.integer({ min: 1, max: 60 * 24 }), { nil: null }),
});
const scenarioArb = fc.record({
  zone: fc.constantFrom("UTC", "America/New_York"),
  grace_h: fc.constantFrom(0, 24, 72),
  plan: fc.nat({ max: PLANS.length - 1 }),
  rounding: fc.record({ increment_s: fc.integer({ min: 1, max: 3600 }), minimum_s: fc.integer({ min: 0, max: 900 }), grace_s: fc.integer({ min: 0, max: 120 }) }),
  sessions: fc.array(sessionArb, { minLength: 1, maxLength: 9 }),
  grants: fc.array(grantArb, { maxLength: 3 }),
  version: fc.option(fc.record({ plan: fc.nat({ max: PLANS.length - 1 }), at_h: fc.integer({ min: 0, max: 85 * 24 }), after_h: fc.integer({ min: 0, max: 30 * 24 }) }), { nil: null }),
  removal: fc.option(fc.record({ at_h: fc.integer({ min: 0, max: 90 * 24 }), pick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }), { nil: null }),
  batch: fc.integer({ min: 1, max: 5 }),
  chunk: fc.integer({ min: 1, max: 3 }),
  lag: fc.integer({ min: 0, max: 3 }),
});
type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

type Event =
  | { at: number; kind: "batch"; intervals: UsageInterval[] }
  | { at: number; kind: "grant"; grant: GrantInput }
  | { at: number; kind: "version"; version: PlanVersion }
  | { at: number; kind: "remove"; pick: number[] };

function timeline(s: Scenario): Event[] {
  const contract = { start: "2026-11-01", timezone: s.zone, period: "month" as const, statement_grace_h: s.grace_h };
  const arrivals: UsageInterval[] = [];
  s.sessions.forEach((sess, si) => {
    let t = NOV + 6 * H + sess.offset_s * 1000;
    sess.lengths_s.forEach((len, i) => {
      const end = t + len * 1000;
      arrivals.push({
        ref: `site:${si * 10 + i + 1}`, feature: sess.feature, session: `site:s${si}`, start: t, end, count: sess.count,
        received_at: end + sess.delays_h[i]! * H, user: sess.user, host: sess.host, site: "site",
      });
      t = end;
    });
  });
  arrivals.sort((a, b) => a.received_at - b.received_at || compareRefs(a.ref, b.ref));
  const events: Event[] = [];
  for (let i = 0; i < arrivals.length; i += s.batch) {
    const batch = arrivals.slice(i, i + s.batch);
    const at = batch[batch.length - 1]!.received_at;
    events.push({ at, kind: "batch", intervals: batch.map((iv) => ({ ...iv, received_at: at })) });
  }
  s.grants.forEach((g, i) => {
    const at = NOV + g.at_h * H;
    const effective_at = g.effective_h === null ? null : Math.max(NOV, at + g.effective_h * H);
    const expires_at = g.expires_h === null ? null : at + g.expires_h * H;
    events.push({ at, kind: "grant", grant: {
      id: `g${i}`, amount: String(g.amount), priority: g.priority, created_at: at, effective_at,
      // The API refuses an expiry at or before the start.
      expires_at: expires_at !== null && effective_at !== null && expires_at <= effective_at ? null : expires_at,
    } });
  });
  if (s.version) {
    const at = NOV + s.version.at_h * H;
    // Never inside a closed period: from the start of the first period still open at `at`.
    let open = periodAt(contract, at);
    while (periodCloseAt(contract, periodByIndex(contract, open.index - 1)) > at && open.index > 0) open = periodByIndex(contract, open.index - 1);
    const effective_at = Math.max(open.start, at - s.version.after_h * H);
    events.push({ at, kind: "version", version: { effective_at, plan: { ...PLANS[s.version.plan]!, rounding: s.rounding } } });
  }
  if (s.removal) events.push({ at: NOV + s.removal.at_h * H, kind: "remove", pick: s.removal.pick });
  return events.sort((a, b) => a.at - b.at);
}

/** The oracle's trace: the line's ranges laid over all pieces rated from scratch. */
function oracleTrace(terms: PricingTerms, intervals: UsageInterval[], frozen: Statement[], period: number, lineId: string): RecordRun[] {
  const line = pricedStatement(ledgerSource(terms, ledgerFromIntervals(terms, intervals), frozen), periodByIndex(terms.contract, period)).find((l) => l.id === lineId)!;
  const pieces = rateIntervals(terms, intervals);
  const runs: RecordRun[] = [];
  for (const range of line.ranges) {
    let at = 0n;
    for (const p of pieces.filter((x) => x.segment === range.segment && x.arrival <= period).sort((a, b) => a.start - b.start || compareRefs(a.ref, b.ref))) {
      const from = at;
      at += p.units;
      if (!(p.units > 0n && at > range.from && from < range.to && (!line.id.startsWith("adj:") || p.arrival === period))) continue;
      const seq = Number(p.ref.slice(p.ref.lastIndexOf(":") + 1));
      const last = runs[runs.length - 1];
      if (last && (seq === last.last_seq || seq === last.last_seq + 1)) last.last_seq = Math.max(seq, last.last_seq);
      else runs.push({ source: "site", first_seq: seq, last_seq: seq });
    }
  }
  return runs;
}

function run(s: Scenario): void {
  const contract = { start: "2026-11-01", timezone: s.zone, period: "month" as const, statement_grace_h: s.grace_h };
  const plans: PlanVersion[] = [{ effective_at: NOV, plan: { ...PLANS[s.plan]!, rounding: s.rounding } }];
  const grants: GrantInput[] = [];
  let intervals: UsageInterval[] = [];
  const store = new MemoryLiveStore();
  let terms = pricingTerms(contract, plans, grants);
  const ledger = new LiveLedger(store, terms);
  const figures = new LiveStatements(ledger);
  const frozen = (): Statement[] => Array.from({ length: store.lastFrozen() + 1 }, (_, i) => store.frozen(i)!);

  const freeze = (now: number) => {
    const before = frozen();
    const closed = figures.freezeDue(now);
    const oracle = ledgerFromIntervals(terms, intervals);
    for (const st of closed) {
      const period = periodAt(contract, Date.parse(st.period.start));
      expect(st).toEqual({ ...statementFromLedger(terms, oracle, before, period), state: "closed" });
      before.push(st);
    }
  };
  let lagging = 0;
  const events = timeline(s);
  for (const e of events) {
    freeze(e.at);
    if (e.kind === "batch") { intervals.push(...e.intervals); ledger.add(e.intervals); }
    else if (e.kind === "grant") {
      grants.push(e.grant);
      terms = pricingTerms(contract, plans, grants);
      const change = grantChange(terms, e.grant.id);
      ledger.termsChanged(terms, change.rerate, change.foldFrom);
    } else if (e.kind === "version") {
      plans.push(e.version);
      terms = pricingTerms(contract, plans, grants);
      const change = planVersionChange(e.version.effective_at);
      ledger.termsChanged(terms, change.rerate, change.foldFrom);
    } else if (intervals.length > 0) {
      const gone = new Set(e.pick.map((k) => intervals[k % intervals.length]!.ref));
      ledger.remove(intervals.filter((iv) => gone.has(iv.ref)));
      intervals = intervals.filter((iv) => !gone.has(iv.ref));
    }
    // The alarm runs the job a few events later, in small chunks, while batches keep arriving.
    if (ledger.meta.job && ++lagging > s.lag) { ledger.rerateChunk(s.chunk, s.chunk); lagging = 0; }
    if (!ledger.meta.job) expect(figures.balance(e.at)).toEqual(balanceFromLedger(terms, ledgerFromIntervals(terms, intervals), frozen(), e.at));
  }
  while (ledger.meta.job) ledger.rerateChunk(s.chunk, s.chunk);
  const end = Math.max(NOV + 100 * DAY, ...events.map((e) => e.at + H));
  freeze(end);
  const oracle = ledgerFromIntervals(terms, intervals);
  expect(figures.balance(end)).toEqual(balanceFromLedger(terms, oracle, frozen(), end));
  const open = periodAt(contract, end);
  for (let k = 0; k <= open.index; k++) {
    const period = periodByIndex(contract, k);
    expect(figures.statement(period)).toEqual(statementFromLedger(terms, oracle, frozen(), period));
  }
  for (const line of figures.pricedLines(open)) {
    const runs: RecordRun[] = [];
    let cursor = null;
    do {
      const page = traceLine(store, { ranges: line.ranges, period: open.index, lateOnly: line.kind === "adjustment" }, cursor, 2);
      runs.push(...page.runs);
      cursor = page.next;
    } while (cursor);
    expect({ line: line.id, runs }).toEqual({ line: line.id, runs: oracleTrace(terms, intervals, frozen(), open.index, line.id) });
  }
}

describe("the live ledger equals the pure fold", () => {
  it("pinned (SEED=888598316): a plan version that stops rating a feature whose piece was worth 0 units lists it unrated", () => {
    // C is rated by "*" under plan 0 and not at all under plan 1; its 1-second piece rounds to 0 units
    // either way, so re-rating it moved no number — only whether its bucket is rated.
    run({
      zone: "America/New_York", grace_h: 0, plan: 0, rounding: { increment_s: 26, minimum_s: 0, grace_s: 0 },
      sessions: [
        { offset_s: 2548800, user: "ann", host: "ws1", lengths_s: [20882, 18718, 1], count: 1, feature: "C", delays_h: [0, 0, 0, 0] },
        { offset_s: 0, user: "ann", host: "ws1", lengths_s: [1], count: 1, feature: "A", delays_h: [0, 0, 0, 0] },
      ],
      grants: [], version: { plan: 1, at_h: 726, after_h: 1 }, removal: null, batch: 1, chunk: 2, lag: 0,
    });
  });


  it("for random timelines of batches, late and out-of-order records, grants, plan versions, removals and closes", () => {
    fc.assert(fc.property(scenarioArb, run), { seed, numRuns: Number(process.env.SOAK ? 2000 : 120) });
  });
});
