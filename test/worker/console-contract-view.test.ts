// The console's contract page, and its contract list, name customers with one read by id
// (GET /v1/customers/:id) for the customers shown, not by listing every customer of the vendor:
// their reads do not grow with the vendor's customers. Counted as the API calls loadContractView
// and loadContractList make, through the real API.
import { describe, it, expect } from "vitest";
import { loadContractView } from "../../worker/console/contract-view.ts";
import { loadContractList } from "../../worker/console/contract-list-view.ts";
import { CONTRACTS_PER_PAGE } from "../../worker/console/routes.ts";
import type { ConsoleApi } from "../../worker/console/in-process-api.ts";
import { call, createVendor, NOW, ok } from "./edge-fixture.ts";
import { planOf, PRICE } from "./pricing-fixture.ts";

/** A ConsoleApi over the public API with the vendor's key, recording each path it reads. */
function recordingApi(token: string, paths: string[]): ConsoleApi {
  const answer = async (res: Response): Promise<any> => ({ status: res.status, ok: res.ok, headers: res.headers, body: await res.json().catch(() => null) });
  return {
    get: async (path) => { paths.push(path); return answer(await call("GET", path, { token })); },
    send: async (method, path, body) => answer(await call(method, path, { token, body })),
  };
}

describe("console contract page", () => {
  it("names the customer by one read by id among 150 customers (the list took 2 pages of 100)", { timeout: 120_000 }, async () => {
    const vendor = await createVendor();
    let last: any;
    for (let i = 0; i < 150; i++) last = await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: `Plant ${i}` } }), 201);
    const contract = await ok(await call("POST", "/v1/contracts", { token: vendor.api_key, body: { customer_id: last.id, start: "2026-11-01", timezone: "Europe/Berlin", plan: planOf("pay_per_use", { price: PRICE }) } }), 201);
    const paths: string[] = [];
    const view = await loadContractView(recordingApi(vendor.api_key, paths), contract.id, NOW);
    expect(view!.customer).toBe("Plant 149");
    expect(paths.filter((p) => p.startsWith("/v1/customers"))).toEqual([`/v1/customers/${last.id}`]);
  });

  it("the contract list reads the names of the page's customers only, once each, among 150 customers", { timeout: 120_000 }, async () => {
    const vendor = await createVendor();
    const made: { id: string; name: string }[] = [];
    for (let i = 0; i < 150; i++) made.push(await ok(await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: `Plant ${i}` } }), 201));
    const contractOf = async (customer: { id: string }) =>
      ok(await call("POST", "/v1/contracts", { token: vendor.api_key, body: { customer_id: customer.id, start: "2026-11-01", timezone: "Europe/Berlin", plan: planOf("pay_per_use", { price: PRICE }) } }), 201);
    // Two contracts of Plant 7, one of Plant 140.
    const shown = [await contractOf(made[7]!), await contractOf(made[7]!), await contractOf(made[140]!)];
    const paths: string[] = [];
    const list = await loadContractList(recordingApi(vendor.api_key, paths), CONTRACTS_PER_PAGE);
    expect(list.rows.map((r) => [r.id, r.customer])).toEqual(shown.map((k, i) => [k.id, i < 2 ? "Plant 7" : "Plant 140"]));
    expect(paths.filter((p) => p.startsWith("/v1/customers")).sort()).toEqual([`/v1/customers/${made[140]!.id}`, `/v1/customers/${made[7]!.id}`].sort());
    // Per row at most its balance and its customer, besides the contract list itself: the page's
    // calls stay within Cloudflare's 1,000 a request at CONTRACTS_PER_PAGE rows.
    expect(paths.length).toBe(1 + 3 + 2);
    expect(3 * CONTRACTS_PER_PAGE + Math.ceil(CONTRACTS_PER_PAGE / 100)).toBeLessThan(1000);
  });

  it("GET /v1/customers/:id answers the vendor's own customer; another vendor's id is a 404", async () => {
    const [a, b] = [await createVendor(), await createVendor()];
    const mine = await ok(await call("POST", "/v1/customers", { token: a.api_key, body: { name: "Acme", external_id: "crm-1" } }), 201);
    expect(await ok(await call("GET", `/v1/customers/${mine.id}`, { token: a.api_key }))).toEqual(mine);
    const foreign = await call("GET", `/v1/customers/${mine.id}`, { token: b.api_key });
    expect(foreign.status).toBe(404);
    expect((await foreign.json() as { error: string }).error).toBe("not_found");
  });
});
