// The lookups nearly every request makes (the API key, the vendor's contract or customer, the
// collector) are prepared once per D1 binding (worker/db/database.ts): drizzle otherwise builds
// their SQL text and a D1 statement on every request, a fifth of the CPU of a request refused
// right after them. Counted as D1 prepare() calls on the binding the app is given: the second of
// two identical requests compiles nothing.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app.ts";
import { createContract, createVendor, enrolledSite } from "./edge-fixture.ts";

/** env with its D1 binding counting prepare() calls. */
function counting(): { env: typeof env; prepares: () => number } {
  let n = 0;
  const DB = new Proxy(env.DB, {
    get(target, key) {
      if (key === "prepare") return (query: string) => (n++, target.prepare(query));
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, DB }, prepares: () => n };
}

describe("per-request lookups compile no SQL after the first request", () => {
  it("vendor key, the vendor's contract and customer, the collector: the second request prepares nothing", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor);
    const site = await enrolledSite(vendor);
    const auth = { authorization: `Bearer ${vendor.api_key}`, "content-type": "application/json" };
    const cases: Array<[string, RequestInit, number]> = [
      // Refused after the key lookup (an unknown field): 422.
      ["/v1/customers", { method: "POST", headers: auth, body: JSON.stringify({ name: "Plant 9", colour: "blue" }) }, 422],
      // Refused after the contract lookup (an unknown field): 422.
      [`/v1/contracts/${contract.id}/status-links`, { method: "POST", headers: auth, body: JSON.stringify({ colour: "blue" }) }, 422],
      // A read through the vendor's contract and customer.
      [`/v1/customers/${contract.customer_id}`, { headers: auth }, 200],
      // A collector's call with a wrong token: the collector row is read, then 401.
      [`/v1/collectors/${site.collectorId}/doc`, { method: "POST", headers: { authorization: "Bearer tc_test_wrong", "content-type": "application/octet-stream" }, body: new Uint8Array([0]) }, 401],
    ];
    for (const [path, init, status] of cases) {
      const { env: counted, prepares } = counting();
      const first = await app.request(`http://edge.test${path}`, init, counted);
      expect(first.status, path).toBe(status);
      const before = prepares();
      const second = await app.request(`http://edge.test${path}`, init, counted);
      expect(second.status, path).toBe(status);
      expect(prepares() - before, path).toBe(0);
    }
  });
});
