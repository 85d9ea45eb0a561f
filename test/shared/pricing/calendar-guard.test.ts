// The calendar guard, pure part: periods and balances at the calendar's sharp edges (the first
// hour of a month, the last hour of a 28-day February, 29 February), with the machine's own zone
// switched among zones 14 h apart, so code or a test that reads the local zone or the real date
// fails here the day it is written. The workerd and e2e parts: test/worker/calendar-guard.test.ts,
// test/e2e/calendar-guard.test.ts; the mechanism: test/support/test-clock.ts.
import { afterEach, describe, expect, it } from "vitest";
import { computeBalance, periodAt, type PeriodContract, type Plan } from "../../../shared/pricing/index.ts";
import { apiInstant, calendarCases, GUARD_INSTANTS, GUARD_PLAN, type CalendarCase } from "../../support/calendar-edges.ts";
import { input, usage } from "./contract-fixture.ts";

const MACHINE_ZONES = ["UTC", "Pacific/Kiritimati", "America/Los_Angeles", "Asia/Kolkata"];
const originalTz = process.env.TZ;
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

/** Node re-reads TZ when it is assigned: local-time Date methods follow it from then on. */
function onMachineIn(zone: string): void {
  process.env.TZ = zone;
}


function balanceOf(c: CalendarCase, at: number) {
  const intervals = c.intervals.map((i) => usage(i.start, (i.end - i.start) / 3_600_000));
  return computeBalance(input(structuredClone(GUARD_PLAN) as Plan, intervals, [{ id: "g1", amount: "100", created_at: at }], { contract: { start: c.start, timezone: "UTC", period: "month" } }), at);
}

describe.each(GUARD_INSTANTS)("at $name", ({ at }) => {
  it.each(MACHINE_ZONES)("balances hold the open period's usage only, on a machine in %s", (zone) => {
    onMachineIn(zone);
    const { ownDay, straddle } = calendarCases(at);
    const own = balanceOf(ownDay, at);
    expect([own.period.start, own.period.end, own.usage.license_seconds, own.remaining_units]).toEqual([apiInstant(ownDay.period.start), apiInstant(ownDay.period.end), ownDay.license_seconds, "96"]);
    const month = balanceOf(straddle, at);
    expect([month.period.start, month.period.end, month.usage.license_seconds, month.remaining_units]).toEqual([apiInstant(straddle.period.start), apiInstant(straddle.period.end), straddle.license_seconds, "99.8"]);
  });

  // Anchors that clamp (31st, 29 February) and one on the 1st, by month, quarter and year, in
  // contract zones from UTC−8 (with DST) to UTC+14. Expected bounds are local midnights computed
  // by Date's own local-time arithmetic with the machine in the contract's zone; the code under
  // test then runs with the machine in another zone.
  // Bounds per guard instant, in GUARD_INSTANTS order.
  const anchors: Array<{ start: string; period: PeriodContract["period"]; bounds: Array<[string, string]> }> = [
    { start: "2024-01-31", period: "month", bounds: [["2026-12-31", "2027-01-31"], ["2027-02-28", "2027-03-31"], ["2028-02-29", "2028-03-31"]] },
    { start: "2024-02-29", period: "month", bounds: [["2026-12-29", "2027-01-29"], ["2027-02-28", "2027-03-29"], ["2028-02-29", "2028-03-29"]] },
    { start: "2024-03-01", period: "month", bounds: [["2027-01-01", "2027-02-01"], ["2027-02-01", "2027-03-01"], ["2028-02-01", "2028-03-01"]] },
    { start: "2024-11-30", period: "quarter", bounds: [["2026-11-30", "2027-02-28"], ["2027-02-28", "2027-05-30"], ["2028-02-29", "2028-05-30"]] },
    { start: "2024-02-29", period: "year", bounds: [["2026-02-28", "2027-02-28"], ["2027-02-28", "2028-02-29"], ["2028-02-29", "2029-02-28"]] },
  ];
  const index = GUARD_INSTANTS.findIndex((g) => g.at === at);

  it.each(MACHINE_ZONES)("a contract in %s: the period open at that local wall time has the clamped calendar bounds", (zone) => {
    const wall = new Date(at);
    for (const a of anchors) {
      const [startDate, endDate] = a.bounds[index]!;
      onMachineIn(zone);
      const localMidnight = (date: string) => { const [y, m, d] = date.split("-").map(Number) as [number, number, number]; return new Date(y, m - 1, d).getTime(); };
      const instant = new Date(wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate(), wall.getUTCHours(), wall.getUTCMinutes()).getTime();
      const expected = { start: localMidnight(startDate), end: localMidnight(endDate), start_date: startDate };
      onMachineIn(zone === "Pacific/Kiritimati" ? "America/Los_Angeles" : "Pacific/Kiritimati");
      const p = periodAt({ start: a.start, timezone: zone, period: a.period }, instant);
      expect({ start: p.start, end: p.end, start_date: p.start_date }, `${a.period} from ${a.start}`).toEqual(expected);
    }
  });
});
