// The console's pure decisions: the urgency order of the contracts list and the grants'
// burn-down forecast (exact, in the API's burn order).
import { describe, expect, it } from "vitest";
import { byUrgency, glanceStatus, type ContractGlance } from "../../worker/console/urgency.ts";
import { forecastGrants, unitsPerDay } from "../../worker/console/forecast.ts";
import { renderContractPage } from "../../worker/console/pages/contract-page.ts";
import type { ContractView } from "../../worker/console/contract-view.ts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1); // 1 Jun 2026
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

describe("contracts list order", () => {
  it("blocked > exhausted > low > stale > ok, then the lowest share left first, contracts without a grant last", () => {
    const g = (name: string, status: ContractGlance["status"], stale: boolean, remaining: string | null, granted: string | null) =>
      ({ name, status, stale, remaining_units: remaining, granted_units: granted });
    const rows = [
      g("ok-none", "ok", false, null, null), g("ok-90", "ok", false, "90", "100"), g("ok-1/3", "ok", false, "1", "3"),
      g("stale", "ok", true, "50", "100"), g("low", "low", false, "10", "100"), g("exhausted", "exhausted", false, "0", "100"),
      g("blocked", "blocked", true, "0", "100"), g("ok-33.3", "ok", false, "33.3", "100"),
    ];
    expect([...rows].sort(byUrgency).map((r) => r.name)).toEqual(["blocked", "exhausted", "low", "stale", "ok-33.3", "ok-1/3", "ok-90", "ok-none"]);
    expect(glanceStatus(rows[6]!)).toBe("blocked"); // stale does not hide a worse status
  });
});

describe("grant burn-down forecast", () => {
  it("at 100 units/day, a 10,000-unit grant expiring in 30 days leaves 7,000 unused", () => {
    const [f] = forecastGrants([{ id: "g1", remaining: "10000", effective_at: iso(NOW - DAY), expires_at: iso(NOW + 30 * DAY), priority: 0 }], { units: "700", window_ms: 7 * DAY }, NOW);
    expect(f).toEqual({ id: "g1", unused_at_expiry: "7000", exhausted_at: null });
    expect(unitsPerDay({ units: "700", window_ms: 7 * DAY })).toBe("100");
  });

  it("grants burn one after another: the first runs out, the next then burns until it expires", () => {
    const grants = [
      { id: "later", remaining: "500", effective_at: iso(NOW), expires_at: iso(NOW + 10 * DAY), priority: 0 },
      { id: "first", remaining: "300", effective_at: iso(NOW), expires_at: iso(NOW + 5 * DAY), priority: 0 },
    ];
    // 100/day: "first" (earliest expiry) is used up after 3 days; "later" then burns 7 days × 100.
    const out = forecastGrants(grants, { units: "700", window_ms: 7 * DAY }, NOW);
    expect(out).toEqual([
      { id: "later", unused_at_expiry: "0", exhausted_at: NOW + 8 * DAY },
      { id: "first", unused_at_expiry: "0", exhausted_at: NOW + 3 * DAY },
    ]);
  });

  it("exact to the sixth decimal: 1 unit over 3 days for 10 days burns 3.333333 of 5", () => {
    const [f] = forecastGrants([{ id: "g", remaining: "5", effective_at: iso(NOW), expires_at: iso(NOW + 10 * DAY), priority: 0 }], { units: "1", window_ms: 3 * DAY }, NOW);
    expect(f!.unused_at_expiry).toBe("1.666667");
  });

  it("with no recent use nothing burns: a grant without expiry never runs out, one with expiry expires whole", () => {
    const out = forecastGrants([
      { id: "open", remaining: "40", effective_at: iso(NOW), expires_at: null, priority: 0 },
      { id: "dated", remaining: "12.5", effective_at: iso(NOW), expires_at: iso(NOW + DAY), priority: 1 },
    ], { units: "0", window_ms: 7 * DAY }, NOW);
    expect(out).toEqual([{ id: "open", unused_at_expiry: null, exhausted_at: null }, { id: "dated", unused_at_expiry: "12.5", exhausted_at: null }]);
  });
});

describe("the contract page's usage tables", () => {
  const view = (rows: Array<Record<string, unknown>>): ContractView => ({
    contract: { id: "ctr_1", customer_id: "cus_1", plan: { unit_name: "token" }, start: "2026-11-01", timezone: "UTC", expected_sync_s: 86_400 },
    customer: "Plant 7", balance: null, daily: null, byFeature: rows as ContractView["byFeature"], byUser: null, bySite: null,
    recentUnits: null, rateWindowMs: 0, statement: null, sites: null, statusLinks: null, enforcement: null, now: Date.UTC(2026, 10, 27),
  });

  it("show a Draws column beside license time when a feature is sold by draws, and none otherwise", () => {
    const drawn = renderContractPage(view([{ feature: "CAD", license_seconds: 7200, units: "14", draws: 2 }, { feature: "PRE", license_seconds: 3600, units: "1", draws: 0 }]), "csrf");
    expect(drawn).toContain(`<th scope="col" class="num">Draws</th>`);
    expect(drawn).toContain(`<tr><th scope="row">CAD</th><td class="num">2 h 00 min</td><td class="num">2</td><td class="num">14</td></tr>`);
    const hours = renderContractPage(view([{ feature: "PRE", license_seconds: 3600, units: "1", draws: 0 }]), "csrf");
    expect(hours).not.toContain("Draws");
  });
});
