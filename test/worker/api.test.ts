// The vendor API (DESIGN.md §7): vendors, customers, contracts, lists, enrollment, tenancy,
// idempotency keys, error shapes and the injectable clock.
import { describe, it, expect } from "vitest";
import { env } from "cloudflare:test";
import worker from "../../worker/index.ts";
import { ADMIN_TOKEN, call, createContract, createVendor, enrolledSite, NOW, ok, plan } from "./edge-fixture.ts";

describe("vendors and keys", () => {
  it("creating a vendor needs the operator token and returns its API key once", async () => {
    expect((await call("POST", "/v1/vendors", { body: { name: "x" } })).status).toBe(401);
    expect(await (await call("POST", "/v1/vendors", { token: "wrong", body: { name: "x" } })).json()).toMatchObject({ error: "unauthorized" });
    const vendor = await ok(await call("POST", "/v1/vendors", { token: ADMIN_TOKEN, body: { name: "Acme" } }), 201);
    expect(vendor).toEqual({ id: expect.stringMatching(/^ven_[0-9a-f]{32}$/), name: "Acme", api_key: expect.stringMatching(/^tk_test_[A-Za-z0-9_-]{43}$/), created_at: "2026-11-27T10:00:00Z" });
    const stored = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE vendor_id = ?").bind(vendor.id).all();
    expect(stored.results).toHaveLength(1);
    expect(JSON.stringify(stored.results)).not.toContain(vendor.api_key);
  });

  it("an unknown or missing API key answers 401 unauthorized", async () => {
    expect(await (await call("GET", "/v1/customers", { token: "tk_test_nope" })).json()).toMatchObject({ error: "unauthorized" });
    expect((await call("GET", "/v1/customers")).status).toBe(401);
  });
});

describe("customers and contracts", () => {
  it("a contract is created from a YYYY-MM-DD start and read back with its terms", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor, { statement_grace_h: 24 });
    expect(contract).toMatchObject({ id: expect.stringMatching(/^ctr_/), plan, start: "2026-11-01", start_at: "2026-10-31T23:00:00Z", timezone: "Europe/Berlin", statement_grace_h: 24, expected_sync_s: 86400 });
    // Read back, it also lists its plan versions: the one it was created with, from its start.
    expect(await ok(await call("GET", `/v1/contracts/${contract.id}`, { token: vendor.api_key })))
      .toEqual({ ...contract, plan_versions: [{ effective_at: "2026-10-31T23:00:00Z", plan }] });
  });

  it("an instant as start uses its local date in the contract's zone", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor, { start: "2026-11-30T23:30:00Z", timezone: "Europe/Berlin" });
    expect(contract).toMatchObject({ start: "2026-12-01", start_at: "2026-11-30T23:00:00Z" });
  });

  it("a plan missing unit_name, with a numeric rate, or a bad zone or date is a 422 naming the field", async () => {
    const vendor = await createVendor();
    const customer = await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: "c" } }), 201);
    const base = { customer_id: customer.id, plan, start: "2026-11-01", timezone: "Europe/Berlin" };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, plan: { ...plan, unit_name: undefined } }, "plan.unit_name"],
      [{ ...base, plan: { ...plan, rates: { MATLAB: 1 } } }, "plan.rates.MATLAB"],
      [{ ...base, plan: { ...plan, period: "week" } }, "plan.period"],
      [{ ...base, timezone: "Mars/Olympus" }, "timezone"],
      [{ ...base, start: "2026-02-30" }, "start"],
    ];
    for (const [body, field] of cases) {
      const res = await call("POST", "/v1/contracts", { token: vendor.api_key, body });
      // The plan is validated by shared/pricing's parsePlan (invalid_plan); the rest by the request schema.
      const error = field.startsWith("plan.") ? "invalid_plan" : "invalid_request";
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 422, body: { error, field } });
    }
    expect((await ok(await call("GET", "/v1/contracts", { token: vendor.api_key }))).items).toEqual([]);
  });

  it("lists page with limit and cursor in creation order", async () => {
    const vendor = await createVendor();
    const ids: string[] = [];
    for (const name of ["a", "b", "c"]) ids.push((await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name } }), 201)).id);
    const first = await ok(await call("GET", "/v1/customers?limit=2", { token: vendor.api_key }));
    expect(first.items.map((c: any) => c.name)).toEqual(["a", "b"]);
    expect(first.next_cursor).toBe(ids[1]);
    const second = await ok(await call("GET", `/v1/customers?limit=2&cursor=${first.next_cursor}`, { token: vendor.api_key }));
    expect({ names: second.items.map((c: any) => c.name), next: second.next_cursor }).toEqual({ names: ["c"], next: null });
    expect((await call("GET", "/v1/customers?limit=0", { token: vendor.api_key })).status).toBe(422);
  });
});

describe("tenancy", () => {
  it("a vendor cannot see or act on another vendor's customers, contracts or balances: all 404", async () => {
    const a = await enrolledSite();
    const b = await createVendor("Other");
    const customerId = (await ok(await call("GET", "/v1/contracts", { token: a.vendor.api_key }))).items[0].customer_id;
    const attempts = [
      call("GET", `/v1/contracts/${a.contractId}`, { token: b.api_key }),
      call("GET", `/v1/contracts/${a.contractId}/balance`, { token: b.api_key }),
      call("POST", `/v1/contracts/${a.contractId}/enrollments`, { token: b.api_key }),
      call("POST", "/v1/contracts", { token: b.api_key, body: { customer_id: customerId, plan, start: "2026-11-01", timezone: "UTC" } }),
    ];
    for (const res of await Promise.all(attempts)) expect({ status: res.status, error: ((await res.json()) as any).error }).toEqual({ status: 404, error: "not_found" });
    expect((await ok(await call("GET", "/v1/contracts", { token: b.api_key }))).items).toEqual([]);
    expect((await ok(await call("GET", "/v1/customers", { token: b.api_key }))).items).toEqual([]);
  });
});

describe("idempotency keys", () => {
  it("the same key and body return the same answer once; another body is 409 idempotency_conflict", async () => {
    const vendor = await createVendor();
    const post = (name: string) => call("POST", "/v1/customers", { token: vendor.api_key, body: { name }, headers: { "Idempotency-Key": "order-1" } });
    const first = await ok(await post("Plant 7"), 201);
    const second = await post("Plant 7");
    expect(second.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await ok(second, 201)).toEqual(first);
    expect(await (await post("Plant 8")).json()).toMatchObject({ error: "idempotency_conflict" });
    expect((await ok(await call("GET", "/v1/customers", { token: vendor.api_key }))).items).toEqual([first]);
  });

  it("keys are per vendor, and a failed request can be retried with its key", async () => {
    const [a, b] = [await createVendor(), await createVendor()];
    const customer = await ok(await call("POST", "/v1/customers", { token: a.api_key, body: { name: "c" } }), 201);
    const body = { customer_id: customer.id, plan, start: "2026-11-01", timezone: "UTC" };
    const bad = await call("POST", "/v1/contracts", { token: a.api_key, body: { ...body, timezone: "Nowhere" }, headers: { "Idempotency-Key": "k" } });
    expect(bad.status).toBe(422);
    const made = await ok(await call("POST", "/v1/contracts", { token: a.api_key, body, headers: { "Idempotency-Key": "k" } }), 201);
    expect(await ok(await call("POST", "/v1/contracts", { token: a.api_key, body, headers: { "Idempotency-Key": "k" } }), 201)).toEqual(made);
    expect(await (await call("POST", "/v1/customers", { token: b.api_key, body: { name: "c" }, headers: { "Idempotency-Key": "k" } })).json()).toMatchObject({ name: "c" });
    expect((await ok(await call("GET", "/v1/contracts", { token: a.api_key }))).items).toHaveLength(1);
  });
});

describe("enrollment", () => {
  it("an enrollment token enrolls once; a reused, expired or unknown token is refused", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor);
    const { enrollment_token, expires_at } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key }), 201);
    expect(expires_at).toBe("2026-12-04T10:00:00Z");
    const body = { enrollment_token, public_key: "ab".repeat(32), site: "lab" };
    const enrolled = await ok(await call("POST", "/v1/enroll", { body }), 201);
    expect(enrolled).toMatchObject({ collector_id: expect.stringMatching(/^col_/), contract_id: contract.id, collector_token: expect.stringMatching(/^tc_test_/), scope: plan.scope });
    expect(await (await call("POST", "/v1/enroll", { body })).json()).toMatchObject({ error: "enrollment_token_used" });
    expect(await (await call("POST", "/v1/enroll", { body: { ...body, enrollment_token: "te_test_unknown" } })).json()).toMatchObject({ error: "invalid_enrollment_token" });

    const late = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key }), 201);
    const res = await call("POST", "/v1/enroll", { body: { ...body, enrollment_token: late.enrollment_token }, now: NOW + 7 * 86400_000 });
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 410, body: { error: "enrollment_token_expired" } });
    const collectors = await env.DB.prepare("SELECT id FROM collectors WHERE contract_id = ?").bind(contract.id).all();
    expect(collectors.results).toEqual([{ id: enrolled.collector_id }]);
  });
});

describe("errors and the clock", () => {
  it("an unknown route is 404 not_found; malformed JSON is 400 malformed; an oversized body is 413 too_large", async () => {
    expect(await (await call("GET", "/v1/nope")).json()).toMatchObject({ error: "not_found" });
    const vendor = await createVendor();
    const res = await call("POST", "/v1/customers", { token: vendor.api_key, raw: "{\"name\":", headers: { "Content-Type": "application/json" } });
    expect({ status: res.status, error: ((await res.json()) as any).error }).toEqual({ status: 400, error: "malformed" });
    const big = await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: "x".repeat(70_000) } });
    expect({ status: big.status, error: ((await big.json()) as any).error }).toEqual({ status: 413, error: "too_large" });
  });

  it("X-Tally-Now sets the clock in test, and is refused with 400 clock_injection_refused in production", async () => {
    const vendor = await ok(await call("POST", "/v1/vendors", { token: ADMIN_TOKEN, body: { name: "t" }, now: Date.UTC(2030, 0, 1) }), 201);
    expect(vendor.created_at).toBe("2030-01-01T00:00:00Z");
    const production = { ...env, TALLY_ENV: "production" };
    const request = new Request("http://edge.test/health", { headers: { "X-Tally-Now": String(NOW) } });
    const refused = await worker.fetch(request, production, {} as ExecutionContext);
    expect({ status: refused.status, body: await refused.json() }).toMatchObject({ status: 400, body: { error: "clock_injection_refused" } });
    expect((await worker.fetch(new Request("http://edge.test/health"), production, {} as ExecutionContext)).status).toBe(200);
  });
});
