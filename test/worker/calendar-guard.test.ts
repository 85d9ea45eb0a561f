// The calendar guard, inside workerd: at the first hour of a month, the last hour of a 28-day
// February and on 29 February (the edge's clock set by `X-Tally-Now`), a site's recent usage
// reaches the balance, the customer's status page and the console's contract list of the period
// open then; usage either side of a month's start lands in its own period; and a test edge's
// shifted clock (`TALLY_CLOCK_OFFSET_MS`) is what every request sees. See test/support/test-clock.ts.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index.ts";
import { apiInstant, calendarCases, GUARD_INSTANTS, GUARD_PLAN, type CalendarCase } from "../support/calendar-edges.ts";
import { ADMIN_TOKEN, call, ok, postBatch, SiteChain } from "./edge-fixture.ts";
import { generateKeyPair } from "../../shared/protocol/index.ts";


/** A contract of `c` with a 100-token grant, its usage synced by one site at `now`. */
async function syncedContract(c: CalendarCase, now: number) {
  const vendor = await ok(await call("POST", "/v1/vendors", { token: ADMIN_TOKEN, body: { name: "Guard vendor" }, now }), 201);
  const customer = await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: "Plant 7" }, now }), 201);
  const contract = await ok(await call("POST", "/v1/contracts", { token: vendor.api_key, body: { customer_id: customer.id, plan: GUARD_PLAN, start: c.start, timezone: "UTC" }, now }), 201);
  await ok(await call("POST", `/v1/contracts/${contract.id}/grants`, { token: vendor.api_key, body: { amount: "100", idempotency_key: "g1" }, now }), 201);
  const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key, now }), 201);
  const keys = generateKeyPair();
  const enrolled = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site: "plant-7" }, now }), 201);
  const chain = new SiteChain(enrolled.collector_id, keys.secretKey);
  for (const i of c.intervals) chain.usage({ start: i.start, end: i.end });
  await ok(await postBatch(enrolled.collector_id, chain.batch(1, c.intervals.length), { now }));
  return { vendor, contractId: contract.id as string };
}

describe.each(GUARD_INSTANTS)("at $name", ({ at }) => {
  const { ownDay, straddle } = calendarCases(at);

  it("recent usage, in a contract starting on its first day, is in the open period's balance, status page and console list", async () => {
    const { vendor, contractId } = await syncedContract(ownDay, at);
    const balance = await ok(await call("GET", `/v1/contracts/${contractId}/balance`, { token: vendor.api_key, now: at }));
    expect([balance.period.start, balance.period.end, balance.usage.license_seconds, balance.remaining_units, balance.quarantined_records])
      .toEqual([apiInstant(ownDay.period.start), apiInstant(ownDay.period.end), ownDay.license_seconds, "96", 0]);

    const link = await ok(await call("POST", `/v1/contracts/${contractId}/status-links`, { token: vendor.api_key, body: {}, now: at }), 201);
    const status = await ok(await call("GET", `/status/${link.token}`, { headers: { Accept: "application/json" }, now: at }));
    expect([status.remaining_units, status.usage.units]).toEqual(["96", "4"]);

    const signIn = await SELF.fetch("http://edge.test/console/sign-in", {
      method: "POST", redirect: "manual", body: new URLSearchParams({ api_key: vendor.api_key }),
      headers: { Origin: "http://edge.test", "Content-Type": "application/x-www-form-urlencoded", "X-Tally-Now": String(at) },
    });
    expect(signIn.status).toBe(303);
    const cookie = (signIn.headers.get("Set-Cookie") ?? "").split(";")[0]!;
    const list = await (await call("GET", "/console", { headers: { Cookie: cookie }, now: at })).text();
    const row = list.split("<tr>").find((r) => r.includes(`/console/contracts/${contractId}`))!;
    expect(row).toContain(`>96 of 100 tokens<`);
    expect(row).toContain(`class="num">4 tokens<`);
  });

  it("usage either side of the month's start: the open period holds only the later part", async () => {
    const { vendor, contractId } = await syncedContract(straddle, at);
    const balance = await ok(await call("GET", `/v1/contracts/${contractId}/balance`, { token: vendor.api_key, now: at }));
    expect([balance.period.start, balance.period.end, balance.usage.license_seconds, balance.remaining_units])
      .toEqual([apiInstant(straddle.period.start), apiInstant(straddle.period.end), straddle.license_seconds, "99.8"]);
    const previous = await ok(await call("GET", `/v1/contracts/${contractId}/balance`, { token: vendor.api_key, now: straddle.period.start - 1 }));
    expect([previous.period.end, previous.usage.license_seconds]).toEqual([apiInstant(straddle.period.start), straddle.license_seconds]);
  });
});

describe("a test edge's shifted clock (TALLY_CLOCK_OFFSET_MS)", () => {
  const fetchWith = (vars: Record<string, string>, path: string, init: RequestInit = {}) =>
    worker.fetch(new Request(`http://edge.test${path}`, init), { ...env, ...vars }, {} as ExecutionContext);

  it("is the now of every request without X-Tally-Now, advancing in real time; the header still wins", async () => {
    for (const { at } of GUARD_INSTANTS) {
      const before = Date.now();
      const offset = String(at - before);
      const create = (headers: Record<string, string> = {}) => fetchWith({ TALLY_CLOCK_OFFSET_MS: offset }, "/v1/vendors", {
        method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json", ...headers }, body: JSON.stringify({ name: "shifted" }),
      });
      const created = Date.parse(((await ok(await create(), 201)) as { created_at: string }).created_at);
      expect(created).toBeGreaterThanOrEqual(at - 1000);
      expect(created).toBeLessThanOrEqual(at + (Date.now() - before) + 1000);
      const pinned = await ok(await create({ "X-Tally-Now": String(Date.UTC(2030, 0, 1)) }), 201);
      expect(pinned.created_at).toBe("2030-01-01T00:00:00Z");
    }
  });

  it("is refused in production (400 clock_injection_refused), and malformed values are refused", async () => {
    const refused = await fetchWith({ TALLY_ENV: "production", TALLY_CLOCK_OFFSET_MS: "86400000" }, "/health");
    expect({ status: refused.status, body: await refused.json() }).toMatchObject({ status: 400, body: { error: "clock_injection_refused" } });
    const malformed = await fetchWith({ TALLY_CLOCK_OFFSET_MS: "1e9" }, "/health");
    expect({ status: malformed.status, body: await malformed.json() }).toMatchObject({ status: 400, body: { error: "malformed" } });
    expect((await fetchWith({ TALLY_CLOCK_OFFSET_MS: "-86400000" }, "/health")).status).toBe(200);
  });
});
