import { describe, expect, it } from "vitest";
import { PricingError, periodAt, periodByIndex, periodStarting, periodsBetween } from "../../../shared/pricing/index.ts";
import { errorCode } from "./contract-fixture.ts";

const utc = (s: string) => Date.parse(s);

describe("contract periods", () => {
  it("clamps a month-end anchor to shorter months and returns to the anchor day", () => {
    const c = { start: "2027-01-31", timezone: "UTC", period: "month" as const };
    expect([0, 1, 2, 3].map((k) => periodByIndex(c, k).start_date)).toEqual(["2027-01-31", "2027-02-28", "2027-03-31", "2027-04-30"]);
    expect(periodByIndex(c, 13).start_date).toBe("2028-02-29"); // 2028 is a leap year
    expect(periodByIndex(c, 1).end).toBe(utc("2027-03-31T00:00:00Z"));
  });

  it("counts quarters and years from the original anchor day", () => {
    const q = { start: "2026-11-30", timezone: "UTC", period: "quarter" as const };
    expect([0, 1, 2, 3].map((k) => periodByIndex(q, k).start_date)).toEqual(["2026-11-30", "2027-02-28", "2027-05-30", "2027-08-30"]);
    const y = { start: "2028-02-29", timezone: "UTC", period: "year" as const };
    expect([0, 1, 4].map((k) => periodByIndex(y, k).start_date)).toEqual(["2028-02-29", "2029-02-28", "2032-02-29"]);
  });

  it("starts periods at local midnight in the contract zone, across DST", () => {
    const c = { start: "2026-03-01", timezone: "Europe/Berlin", period: "month" as const };
    const march = periodByIndex(c, 0);
    // 00:00 CET (+01:00) on 1 March, 00:00 CEST (+02:00) on 1 April: March is 31 days less the lost hour.
    expect(march.start).toBe(utc("2026-02-28T23:00:00Z"));
    expect(march.end).toBe(utc("2026-03-31T22:00:00Z"));
    expect((march.end - march.start) / 3_600_000).toBe(31 * 24 - 1);
    expect(periodAt(c, utc("2026-03-31T21:59:59Z")).start_date).toBe("2026-03-01");
    expect(periodAt(c, utc("2026-03-31T22:00:00Z")).start_date).toBe("2026-04-01");
  });

  it("finds the period starting on a date and refuses a date that starts none", () => {
    const c = { start: "2026-11-01", timezone: "America/New_York", period: "month" as const };
    expect(periodStarting(c, "2026-12-01")).toEqual({ index: 1, start: utc("2026-12-01T05:00:00Z"), end: utc("2027-01-01T05:00:00Z"), start_date: "2026-12-01" });
    expect(() => periodStarting(c, "2026-12-02")).toThrow(PricingError);
    expect(errorCode(() => periodStarting(c, "2026-12-02"))).toBe("not_a_period_start");
  });

  it("iterates the periods overlapping a range", () => {
    const c = { start: "2026-11-01", timezone: "UTC", period: "month" as const };
    const list = [...periodsBetween(c, utc("2026-11-15T00:00:00Z"), utc("2027-01-01T00:00:00Z"))].map((p) => p.start_date);
    expect(list).toEqual(["2026-11-01", "2026-12-01"]);
  });
});
