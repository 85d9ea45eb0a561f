// Input the edge must refuse rather than reinterpret (DESIGN.md §7, docs/edge-api.md
// "Conventions"): impossible calendar instants, a grant that could never be active, a list cursor
// of another list, a non-JSON body on a JSON route. Each is a 4xx with its stable code and changes
// nothing, in D1 or in the contract's Durable Object.
import { describe, it, expect } from "vitest";
import { env, runInDurableObject } from "cloudflare:test";
import type { ContractDO } from "../../worker/contract/contract-do.ts";
import { ADMIN_TOKEN, call, contractStub, createContract, createVendor, enrolledSite, ok, plan, postBatch, settle, SiteChain } from "./edge-fixture.ts";

async function refusal(res: Response): Promise<{ status: number; error: string; field?: string }> {
  const body = (await res.json()) as { error: string; field?: string };
  return { status: res.status, error: body.error, ...(body.field === undefined ? {} : { field: body.field }) };
}

/** The contract's grants and plan versions, as its Durable Object stores them. */
function pricingRows(contractId: string) {
  return runInDurableObject(contractStub(contractId), (_: ContractDO, state) => ({
    grants: state.storage.sql.exec("SELECT * FROM grants ORDER BY id").toArray(),
    versions: state.storage.sql.exec("SELECT * FROM plan_versions ORDER BY 1").toArray(),
  }));
}

describe("instants", () => {
  it("an impossible date or time (30 February, 31 November, 24:00) is a 422 naming the field, never another instant", async () => {
    const vendor = await createVendor();
    const c = await createContract(vendor);
    const token = vendor.api_key;
    const before = await pricingRows(c.id);
    const grant = (body: Record<string, unknown>) => call("POST", `/v1/contracts/${c.id}/grants`, { token, body: { amount: "10", idempotency_key: "k", ...body } });
    expect(await refusal(await grant({ effective_at: "2026-11-31T00:00:00Z" }))).toEqual({ status: 422, error: "invalid_request", field: "effective_at" });
    expect(await refusal(await grant({ expires_at: "2026-12-01T24:00:00Z" }))).toEqual({ status: 422, error: "invalid_request", field: "expires_at" });
    const version = await call("PUT", `/v1/contracts/${c.id}/plan`, { token, body: { plan, effective_at: "2027-02-30T00:00:00+01:00" } });
    expect(await refusal(version)).toEqual({ status: 422, error: "invalid_request", field: "effective_at" });
    const usage = await call("GET", `/v1/contracts/${c.id}/usage?from=2026-11-31T00:00:00Z&to=2026-12-02T00:00:00Z`, { token });
    expect(await refusal(usage)).toEqual({ status: 422, error: "invalid_request", field: "query.from" });
    expect(await pricingRows(c.id)).toEqual(before);
    // A contract's start as an instant: the same calendar, and the same 1970 floor as a date.
    for (const start of ["2026-02-30T12:00:00Z", "0001-01-01T00:00:00Z"]) {
      const res = await call("POST", "/v1/contracts", { token, body: { customer_id: c.customer_id, plan, start, timezone: "UTC" } });
      expect({ start, ...(await refusal(res)) }).toEqual({ start, status: 422, error: "invalid_request", field: "start" });
    }
    expect((await ok(await call("GET", "/v1/contracts", { token }))).items.map((x: { id: string }) => x.id)).toEqual([c.id]);
    // Leap days and offsets are still instants.
    await ok(await grant({ effective_at: "2028-02-29T23:00:00-01:00", idempotency_key: "leap" }), 201);
  });
});

describe("grants", () => {
  it("a grant expiring at or before the start of the period it is created in (its default effective_at) is refused, like one with that effective_at", async () => {
    const vendor = await createVendor();
    const c = await createContract(vendor);
    const grant = (body: Record<string, unknown>) => call("POST", `/v1/contracts/${c.id}/grants`, { token: vendor.api_key, body: { amount: "10", idempotency_key: "k", ...body } });
    const balance = async () => ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: vendor.api_key }));
    const before = await balance();
    expect(before.remaining_units).toBeNull();
    // The open period starts 2026-11-01 00:00 Berlin = 2026-10-31T23:00:00Z.
    expect(await refusal(await grant({ effective_at: "2026-10-31T23:00:00Z", expires_at: "2026-10-31T23:00:00Z" }))).toEqual({ status: 422, error: "invalid_request", field: "expires_at" });
    for (const expires_at of ["2026-10-31T23:00:00Z", "2020-01-01T00:00:00Z"]) {
      expect({ expires_at, ...(await refusal(await grant({ expires_at }))) }).toEqual({ expires_at, status: 422, error: "invalid_request", field: "expires_at" });
    }
    expect((await pricingRows(c.id)).grants).toEqual([]);
    expect(await balance()).toEqual(before);
    // One second later it is a grant (and the key was never taken by the refusals).
    expect(await ok(await grant({ expires_at: "2026-10-31T23:00:01Z" }), 201)).toMatchObject({ effective_at: null, expires_at: "2026-10-31T23:00:01Z" });
  });
});

describe("lists and bodies", () => {
  it("a list's cursor must come from that list: another list's cursor is a 422 query.cursor, not a restarted or empty page", async () => {
    const site = await enrolledSite();
    const token = site.vendor.api_key;
    const contract = await ok(await call("GET", `/v1/contracts/${site.contractId}`, { token }));
    const lists: Array<[string, string]> = [
      ["/v1/customers", site.contractId], ["/v1/contracts", contract.customer_id], ["/v1/api-keys", site.collectorId],
      [`/v1/contracts/${site.contractId}/collectors`, contract.customer_id], [`/v1/contracts/${site.contractId}/status-links`, site.collectorId],
    ];
    for (const [list, cursor] of lists) {
      expect({ list, ...(await refusal(await call("GET", `${list}?cursor=${cursor}`, { token }))) })
        .toEqual({ list, status: 422, error: "invalid_request", field: "query.cursor" });
    }
    const exported = await call("GET", `/v1/contracts/${site.contractId}/export?cursor=rec_${"f".repeat(48)}`, { token });
    expect(await refusal(exported)).toEqual({ status: 422, error: "invalid_request", field: "query.cursor" });
    // An export cursor of another contract (well-formed: a site and a seq) would seek into this one's records.
    const other = await enrolledSite(site.vendor);
    for (const s of [site, other]) { s.chain.usage(); s.chain.usage(); await ok(await postBatch(s.collectorId, s.chain.batch(1, 2))); await settle(s.contractId); }
    const otherPage = await ok(await call("GET", `/v1/contracts/${other.contractId}/export?limit=1`, { token }));
    expect(otherPage.next_cursor).toMatch(/^rec_/);
    expect(await refusal(await call("GET", `/v1/contracts/${site.contractId}/export?cursor=${otherPage.next_cursor}`, { token })))
      .toEqual({ status: 422, error: "invalid_request", field: "query.cursor" });
    // Its own cursor still pages.
    const own = await ok(await call("GET", `/v1/contracts/${site.contractId}/export?limit=1`, { token }));
    expect((await ok(await call("GET", `/v1/contracts/${site.contractId}/export?cursor=${own.next_cursor}`, { token }))).records.map((r: any) => r.seq)).toEqual([2]);
  });

  it("resolve reads its optional body only as JSON: another Content-Type is 415 and the fork stays unresolved", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const fork = new SiteChain(site.collectorId, site.keys.secretKey);
    fork.usage({ session: "restored-vm" });
    expect((await postBatch(site.collectorId, fork.batch(1, 1))).status).toBe(409);
    const resolve = (raw: string, type: string) =>
      call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, raw, headers: { "Content-Type": type } });
    expect(await refusal(await resolve('{"last_common_seq":0}', "text/plain"))).toEqual({ status: 415, error: "unsupported_media_type" });
    expect(await refusal(await resolve("null", "application/json"))).toEqual({ status: 422, error: "invalid_request", field: "body" });
    const balance = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
    expect(balance.collectors[0]).toMatchObject({ acked_seq: 1, flags: ["equivocation"] });
    expect((await env.DB.prepare("SELECT hwm FROM collectors WHERE id = ?").bind(site.collectorId).first())?.hwm).toBeLessThanOrEqual(1);
  });

  it("a write that takes no body refuses one instead of acting as if its options were applied; no body, or {}, is still no body", async () => {
    const site = await enrolledSite();
    const token = site.vendor.api_key;
    const key = await ok(await call("POST", "/v1/api-keys", { token, body: { read_only: true } }), 201);
    const link = await ok(await call("POST", `/v1/contracts/${site.contractId}/status-links`, { token, body: {} }), 201);
    const writes: Array<[string, string, string]> = [
      ["POST", `/v1/contracts/${site.contractId}/enrollments`, token], ["POST", `/v1/collectors/${site.collectorId}/revoke`, token],
      ["DELETE", `/v1/api-keys/${key.id}`, token], ["DELETE", `/v1/status-links/${link.id}`, token],
      ["POST", `/v1/admin/contracts/${site.contractId}/reconcile`, ADMIN_TOKEN],
    ];
    const enrollments = () => env.DB.prepare("SELECT COUNT(*) AS n FROM enrollments WHERE contract_id = ?").bind(site.contractId).first<{ n: number }>();
    const issued = await enrollments();
    for (const [method, path, bearer] of writes) {
      const send = (options: { body?: unknown; raw?: string; headers?: Record<string, string> }) => call(method, path, { token: bearer, ...options });
      expect({ path, ...(await refusal(await send({ body: { expires_in_days: 30 } }))) }).toEqual({ path, status: 422, error: "invalid_request", field: "expires_in_days" });
      expect({ path, ...(await refusal(await send({ body: [1] }))) }).toEqual({ path, status: 422, error: "invalid_request", field: "body" });
      expect({ path, ...(await refusal(await send({ raw: "at_seq=5", headers: { "Content-Type": "application/x-www-form-urlencoded" } }))) }).toEqual({ path, status: 415, error: "unsupported_media_type" });
      expect({ path, ...(await refusal(await send({ raw: "{", headers: { "Content-Type": "application/json" } }))) }).toEqual({ path, status: 400, error: "malformed" });
    }
    // Nothing was done: no token issued, the collector not revoked, the key and the link still live.
    expect(await enrollments()).toEqual(issued);
    expect((await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token }))).collectors[0].flags).toEqual([]);
    expect((await ok(await call("GET", "/v1/api-keys", { token }))).items.find((k: { id: string }) => k.id === key.id).revoked_at).toBeNull();
    expect((await ok(await call("GET", `/v1/contracts/${site.contractId}/status-links`, { token }))).items[0].revoked_at).toBeNull();
    // No body and {} (what generic clients send with a POST) act as before.
    await ok(await call("POST", `/v1/contracts/${site.contractId}/enrollments`, { token, body: {} }), 201);
    await ok(await call("POST", `/v1/contracts/${site.contractId}/enrollments`, { token }), 201);
    expect((await ok(await call("DELETE", `/v1/api-keys/${key.id}`, { token, body: {} }))).revoked_at).not.toBeNull();
    expect((await ok(await call("POST", `/v1/collectors/${site.collectorId}/revoke`, { token }))).revoked_at_seq).toBe(0);
  });
});

describe("huge values", () => {
  it("a signed record at the largest safe count reaches D1 and the usage history (the drain does not stall on it); a rate of 10^12 units or more is refused", async () => {
    const site = await enrolledSite();
    const token = site.vendor.api_key;
    const ratedAt = (rate: string) => call("PUT", `/v1/contracts/${site.contractId}/plan`, { token, body: { plan: { ...plan, rates: { MATLAB: rate, "*": "0.5" } }, effective_at: "2026-10-31T23:00:00Z" } });
    expect(await refusal(await ratedAt("1000000000000"))).toEqual({ status: 422, error: "invalid_plan", field: "plan.rates.MATLAB" });
    await ok(await ratedAt("999999999999.5"), 202);
    site.chain.usage({ count: Number.MAX_SAFE_INTEGER });
    site.chain.usage({ feature: "CAD" });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    await settle(site.contractId);
    await ok(await postBatch(site.collectorId, site.chain.batch(2, 2)));
    await settle(site.contractId);
    expect((await env.DB.prepare("SELECT seq FROM records WHERE contract_id = ? ORDER BY seq").bind(site.contractId).all()).results).toEqual([{ seq: 1 }, { seq: 2 }]);
    const usage = await ok(await call("GET", `/v1/contracts/${site.contractId}/usage?from=2026-11-27T00:00:00Z&to=2026-11-28T00:00:00Z&group_by=feature`, { token }));
    const balance = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token }));
    // The history from D1 says exactly what the live balance says.
    expect(usage.items.map((r: { feature: string; units: string }) => [r.feature, r.units]))
      .toEqual(balance.usage.by_feature.map((f: { feature: string; units: string }) => [f.feature, f.units]).sort());
    expect(usage.items.find((r: { feature: string }) => r.feature === "MATLAB").units).toBe("9007199254736487400372629504.5");
  });
});
