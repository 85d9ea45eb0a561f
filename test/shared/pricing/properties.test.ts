// Rules that hold for all inputs (fast-check). The seed is printed; replay with SEED=<n>.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseScaled } from "../../../shared/decimal/decimal.ts";
import { foldLedger } from "../../../shared/pricing/burn.ts";
import {
  addPieces, balanceFromLedger, billedMs, computeBalance, computeStatement, emptyLedger, ledgerFromIntervals,
  periodIndexAt, pricingTerms, rateNextInterval, rateSession, removePieces,
  type GrantInput, type PricingInput, type SessionCursor, type UsageInterval,
} from "../../../shared/pricing/index.ts";
import { H, NOV, graduated, plan } from "./contract-fixture.ts";

const seed = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`pricing properties: SEED=${seed}`);
const runs = { seed, numRuns: 60 };
const DAY = 24 * H;

const sessionArb = fc.record({
  offset_s: fc.integer({ min: 0, max: 70 * 86_400 }),
  lengths_s: fc.array(fc.integer({ min: 1, max: 20_000 }), { minLength: 1, maxLength: 4 }),
  count: fc.integer({ min: 1, max: 3 }),
  feature: fc.constantFrom("A", "B", "C"),
  delays_s: fc.array(fc.integer({ min: 0, max: 10 * 86_400 }), { minLength: 4, maxLength: 4 }),
});
const grantArb = fc.record({
  amount: fc.integer({ min: 1, max: 40 }), priority: fc.integer({ min: 0, max: 1 }),
  created_h: fc.integer({ min: 0, max: 60 * 24 }), expires_h: fc.option(fc.integer({ min: 1, max: 80 * 24 }), { nil: null }),
});
const roundingArb = fc.record({ increment_s: fc.integer({ min: 1, max: 3600 }), minimum_s: fc.integer({ min: 0, max: 900 }), grace_s: fc.integer({ min: 0, max: 120 }) });
const scenarioArb = fc.record({
  sessions: fc.array(sessionArb, { minLength: 1, maxLength: 6 }),
  grants: fc.array(grantArb, { maxLength: 3 }),
  rounding: roundingArb,
  zone: fc.constantFrom("UTC", "America/New_York"),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

function build(s: Scenario): PricingInput {
  const intervals: UsageInterval[] = [];
  s.sessions.forEach((sess, si) => {
    let t = NOV + H * 6 + sess.offset_s * 1000;
    sess.lengths_s.forEach((len, i) => {
      const end = t + len * 1000;
      intervals.push({ ref: `c:${si}:${i}`, feature: sess.feature, session: `s${si}`, start: t, end, count: sess.count, received_at: end + sess.delays_s[i]! * 1000 });
      t = end;
    });
  });
  const grants: GrantInput[] = s.grants.map((g, i) => ({
    id: `g${i}`, amount: String(g.amount), priority: g.priority, created_at: NOV + g.created_h * H,
    expires_at: g.expires_h === null ? null : NOV + g.expires_h * H,
  }));
  const p = plan({
    model: "prepaid_overage", overage: { policy: "allow" }, rates: { A: "1.5", "*": "0.25" }, rounding: s.rounding,
    price: graduated(["10", "0.7", "2"], [null, "0.3", "1"]),
  });
  return { contract: { start: "2026-11-01", timezone: s.zone, period: "month" }, plans: [{ effective_at: NOV, plan: p }], grants, intervals };
}

const AS_OF = NOV + 80 * DAY;

describe("pricing properties", () => {
  it("the balance does not depend on record order or on how records were batched into the ledger", () => {
    const keysArb = fc.array(fc.nat(), { minLength: 24, maxLength: 24 });
    fc.assert(fc.property(scenarioArb, keysArb, fc.integer({ min: 1, max: 5 }), (s, keys, batch) => {
      const inp = build(s);
      const expected = computeBalance(inp, AS_OF);
      const order = inp.intervals.map((iv, i) => ({ iv, k: keys[i % keys.length]! * 100 + i })).sort((a, b) => a.k - b.k).map((x) => x.iv);
      expect(computeBalance({ ...inp, intervals: order }, AS_OF)).toEqual(expected);
      // Apply in `batch`-sized batches as the DO would: cursors per session, re-rating a session
      // whose interval arrives out of order.
      const terms = pricingTerms(inp.contract, inp.plans, inp.grants);
      const ledger = emptyLedger();
      const cursors = new Map<string, SessionCursor>();
      const seen = new Map<string, UsageInterval[]>();
      for (let i = 0; i < order.length; i += batch) {
        for (const iv of order.slice(i, i + batch)) {
          const before = seen.get(iv.session) ?? [];
          const next = rateNextInterval(terms, cursors.get(iv.session), iv);
          if (next) { addPieces(ledger, next.pieces); cursors.set(iv.session, next.cursor); }
          else {
            removePieces(ledger, rateSession(terms, before).pieces);
            const again = rateSession(terms, [...before, iv]);
            addPieces(ledger, again.pieces); cursors.set(iv.session, again.cursor!);
          }
          seen.set(iv.session, [...before, iv]);
        }
      }
      expect(balanceFromLedger(terms, ledger, [], AS_OF)).toEqual(expected);
    }), runs);
  });

  it("per-interval charges add up to the session rated whole", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const inp = build(s);
      const terms = pricingTerms(inp.contract, inp.plans, inp.grants);
      const rounding = terms.versions[0]!.terms.rounding;
      for (const [si, sess] of s.sessions.entries()) {
        const list = inp.intervals.filter((i) => i.session === `s${si}`);
        const pieces = rateSession(terms, list).pieces;
        const whole = sess.lengths_s.reduce((a, b) => a + b, 0) * 1000;
        expect(pieces.reduce((a, p) => a + p.billed_ms, 0)).toBe(billedMs(whole, rounding) * sess.count);
        const rate = sess.feature === "A" ? 1_500_000_000_000n : 250_000_000_000n;
        expect(pieces.reduce((a, p) => a + p.units, 0n)).toBe(BigInt(billedMs(whole, rounding) * sess.count) * rate);
      }
    }), runs);
  });

  it("a statement's total is the sum of its lines", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const inp = build(s);
      for (const date of ["2026-11-01", "2026-12-01", "2027-01-01"]) {
        const st = computeStatement(inp, date);
        const sum = st.lines.reduce((a, l) => a + parseScaled(l.amount, 2), 0n);
        expect(parseScaled(st.total, 2)).toBe(sum);
      }
    }), runs);
  });

  it("units are never created or lost: usage = included + burned grants + overage", () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const inp = build(s);
      const terms = pricingTerms(inp.contract, inp.plans, inp.grants);
      const fold = foldLedger(terms, ledgerFromIntervals(terms, inp.intervals), periodIndexAt(inp.contract, AS_OF));
      const burned = new Map<string, bigint>();
      for (const p of fold.periods.values()) {
        let grants = 0n;
        for (const [id, c] of p.grants) { grants += c.units; burned.set(id, (burned.get(id) ?? 0n) + c.units); }
        expect(p.included.units + grants + p.overage_units).toBe(p.units);
      }
      for (const g of terms.grants) expect((burned.get(g.id) ?? 0n) + fold.remaining.get(g.id)!).toBe(g.amount);
    }), runs);
  });
});
