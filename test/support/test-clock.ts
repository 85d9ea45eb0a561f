// "Now" for date-sensitive tests, and the instants the calendar guard runs them at.
//
// Tests that place usage "in the last hours" and read the balance's current period take their
// now from testNow(), never from Date.now(). Set TALLY_TEST_NOW (ISO 8601 with a zone, or ms
// since the epoch) and the whole run happens at that instant: testNow() starts there and
// advances in real time, and every local edge a test starts (local-edge.ts) runs its clock with
// the same shift (the TALLY_CLOCK_OFFSET_MS binding, worker/middleware/clock.ts), so collectors'
// syncs, API reads and browser pages agree on the date. Without it, testNow() is Date.now().
//
//   TALLY_TEST_NOW=2028-02-29T12:00:00Z npx vitest run --project node test/e2e/console.test.ts
//
// The calendar guard (test/**/calendar-guard.test.ts) runs the essential period and balance
// assertions at GUARD_INSTANTS on every `npm test`, so a test that only passes mid-month, or
// outside a leap day, fails the day it is written rather than on the first of next month.
export { GUARD_INSTANTS, utcDate } from "./calendar-edges.ts";

/** Parses TALLY_TEST_NOW: ms since the epoch, or an ISO 8601 instant that names its zone. */
export function parseTestNow(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (/^\d{1,16}$/.test(text)) return Number(text);
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) throw new Error(`TALLY_TEST_NOW=${text}: give ms since the epoch or an ISO instant with a zone (Z or ±hh:mm)`);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new Error(`TALLY_TEST_NOW=${text}: not an instant`);
  return ms;
}

/** A clock that reads `at` now and then advances in real time; `offsetMs` is what it adds to
 *  the real clock (pass it to startLocalEdge to run an edge on the same clock). */
export function clockAt(at: number): { offsetMs: number; now: () => number } {
  const offsetMs = at - Date.now();
  return { offsetMs, now: () => Date.now() + offsetMs };
}

const injected = parseTestNow(process.env.TALLY_TEST_NOW);
const testClock = injected === undefined ? { offsetMs: 0, now: Date.now } : clockAt(injected);

/** ms to add to the real clock: 0 unless TALLY_TEST_NOW is set. */
export const TEST_CLOCK_OFFSET_MS = testClock.offsetMs;

/** The tests' now: the real clock, or TALLY_TEST_NOW advancing in real time. */
export function testNow(): number {
  return testClock.now();
}

/** The real clock, for the one kind of edge no test can shift: a self-hosted core runs with
 *  production rules (no injected clock, no offset binding), so tests against it, and the signed
 *  batches they send it, use the machine's own date. Everything else uses testNow(). */
export function realNow(): number {
  return Date.now();
}
