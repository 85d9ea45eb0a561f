// The console's contract page names its customer with one read by id (GET /v1/customers/:id),
// not by listing every customer of the vendor: the page's reads do not grow with the vendor's
// customers. Counted as the API calls loadContractView makes, through the real API.
import { describe, it, expect } from "vitest";
import { loadContractView } from "../../worker/console/contract-view.ts";
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

  it("GET /v1/customers/:id answers the vendor's own customer; another vendor's id is a 404", async () => {
    const [a, b] = [await createVendor(), await createVendor()];
    const mine = await ok(await call("POST", "/v1/customers", { token: a.api_key, body: { name: "Acme", external_id: "crm-1" } }), 201);
    expect(await ok(await call("GET", `/v1/customers/${mine.id}`, { token: a.api_key }))).toEqual(mine);
    const foreign = await call("GET", `/v1/customers/${mine.id}`, { token: b.api_key });
    expect(foreign.status).toBe(404);
    expect((await foreign.json() as { error: string }).error).toBe("not_found");
  });
});
