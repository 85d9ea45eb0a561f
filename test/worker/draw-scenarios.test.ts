// Draws over months at the edge: a site offline for 120 days sends its backlog (use windows that
// re-window another site's keys, checkouts) after its grant expired and a plan version changed the
// draws' units and window; every statement — frozen with what had arrived by its close — and the
// balance equal the pure figures, and the backlog lands as adjustments in the open period.
import { describe, expect, it } from "vitest";
import { computeStatement, type Statement } from "../../shared/pricing/index.ts";
import { runDurableObjectAlarm } from "cloudflare:test";
import { call, contractStub, ok } from "./edge-fixture.ts";

async function rerate(id: string) { for (let i = 0; i < 50; i++) await runDurableObjectAlarm(contractStub(id)); }
import { appendUsage, balanceOf, grant, HOUR, NOW, planOf, pricedContract, pureBalance, pureInput, send, statementOf } from "./pricing-fixture.ts";

const pick = (o: Record<string, unknown>, keys: string[]) => Object.fromEntries(keys.map((k) => [k, o[k]]));
const DAY = 24 * HOUR;
const TOKEN = planOf("token", {
  overage: { policy: "allow" }, price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.50" }] },
  rates: { CAD: { per: "use_window", units: "7" }, SOLVER: { per: "checkout", units: "3" }, "*": "1" },
});

describe("draws across months", () => {
  it("a site offline 120 days sends its backlog after a grant expired and a plan version took effect", { timeout: 120_000 }, async () => {
    const JUL = Date.UTC(2026, 6, 1);
    const c = await pricedContract(TOKEN, { start: "2026-07-01", sites: 2, now: JUL });
    const [one, two] = c.sites as [typeof c.sites[0], typeof c.sites[0]];
    await grant(c, { amount: "100", effective_at: "2026-07-01T00:00:00+02:00", expires_at: "2026-08-15T12:00:00Z", idempotency_key: "a" }, JUL);
    let seqDay = 0;
    const use = (site: typeof one, user: string, feature: string, start: number, hours = 2, count = 1) =>
      appendUsage(site, { session: `s${++seqDay}`, user, feature, start, end: start + hours * HOUR, count }, start + hours * HOUR);
    // Site one reports every ~10 days; site two is offline from July 5 and reports on Nov 27.
    const days = Array.from({ length: 140 }, (_, i) => JUL + i * DAY + 8 * HOUR);
    for (const [i, d] of days.entries()) {
      if (d > NOW - 2 * DAY) break;
      use(one, i % 2 ? "ada" : "bob", "CAD", d + (i % 5) * HOUR);
      if (i % 7 === 0) use(one, "ada", "SOLVER", d + 3 * HOUR, 5, 2);
      use(two, "ada", "CAD", d - (i % 3) * HOUR);
      if (i % 4 === 0) use(two, "cy", "Simulink", d, 3);
      if (i < 4) await send(c, two, d + 4 * HOUR);
      if (i % 10 === 9) await send(c, one, d + 12 * HOUR);
      if (d + 12 * HOUR > Date.UTC(2026, 7, 20) && c.plans.length === 1) {
        const at = Date.UTC(2026, 7, 20);
        expect((await call("PUT", `/v1/contracts/${c.id}/plan`, { token: c.vendor.api_key, now: at, body: { plan: { ...TOKEN, rates: { CAD: { per: "use_window", units: "5", window_s: 43_200 }, SOLVER: { per: "checkout", units: "4" }, "*": "2" } }, effective_at: "2026-09-01T00:00:00+02:00" } })).status).toBeLessThan(300);
        await rerate(c.id);
        c.plans.push({ effective_at: Date.parse("2026-09-01T00:00:00+02:00"), plan: { ...TOKEN, rates: { CAD: { per: "use_window", units: "5", window_s: 43_200 }, SOLVER: { per: "checkout", units: "4" }, "*": "2" } } as any });
      }
      if (d > Date.UTC(2026, 9, 5) && c.grants.length === 1) { await grant(c, { amount: "200", idempotency_key: "b" }, d); await rerate(c.id); }
    }
    await send(c, one, NOW);
    await send(c, two, NOW);
    // Every statement, in order, equals the pure one given the ones frozen before it.
    const frozen: Statement[] = [];
    for (const p of ["2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"]) {
      const edge = await ok(await statementOf(c, p));
      const pure = edge.state === "closed" ? undefined : computeStatement(pureInput(c, [...frozen]), p);
      if (edge.state === "closed") {
        // Frozen with what had arrived by its close (a late use re-windows draws it counted).
        const close = Date.parse(edge.period.end) + 72 * HOUR;
        const at = { ...computeStatement({ ...pureInput(c, [...frozen]), intervals: c.intervals.filter((iv) => iv.received_at < close) }, p), state: "closed" as const };
        expect(edge, p).toEqual({ contract_id: c.id, ...at });
        frozen.push(at);
      } else expect(edge, p).toEqual({ contract_id: c.id, ...pure });
    }
    expect(frozen.map((s) => s.period.start_date)).toEqual(["2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"]);
    const nov = await ok(await statementOf(c));
    expect(new Set(nov.lines.filter((l: any) => l.kind === "adjustment").map((l: any) => l.ref_period))).toEqual(new Set(["2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01"]));
    const b = await balanceOf(c);
    expect(pick(b, Object.keys(pureBalance(pureInput(c, frozen))))).toEqual(pureBalance(pureInput(c, frozen)));
    // The customer's status page shows the vendor balance's figures.
    const link = await ok(await call("POST", `/v1/contracts/${c.id}/status-links`, { token: c.vendor.api_key, body: { name: "plant" } }), 201);
    const status = await ok(await call("GET", new URL(link.url).pathname, { headers: { Accept: "application/json" } }));
    expect(pick(status, ["remaining_units", "granted_units", "status", "unit_name", "period"])).toEqual(pick(b, ["remaining_units", "granted_units", "status", "unit_name", "period"]));
    expect(status.usage.units).toBe(b.usage.units);
    expect(status.usage.by_feature).toEqual(b.usage.by_feature.map((f: any) => pick(f, ["feature", "license_seconds", "units", "draws"])));
  });
});
