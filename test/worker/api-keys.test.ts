// API keys (DESIGN.md §7): more keys per vendor, read-only keys, revocation that bites at once,
// and Idempotency-Key on every creating POST — including those whose answer carries a secret.
import { describe, it, expect } from "vitest";
import { env } from "cloudflare:test";
import { sha256Hex } from "../../shared/protocol/index.ts";
import { ADMIN_TOKEN, call, createContract, createVendor, NOW, ok, type Vendor } from "./edge-fixture.ts";

function createKey(vendor: Vendor, body: unknown, headers: Record<string, string> = {}) {
  return call("POST", "/v1/api-keys", { token: vendor.api_key, body, headers });
}

async function errorOf(res: Response): Promise<{ status: number; error: string }> {
  return { status: res.status, error: ((await res.json()) as { error: string }).error };
}

describe("API keys", () => {
  it("a new key is shown once, works at once, and is listed without its secret", async () => {
    const vendor = await createVendor();
    const key = await ok(await createKey(vendor, { name: "ci" }), 201);
    expect(key).toEqual({
      id: expect.stringMatching(/^key_[0-9a-f]{32}$/), name: "ci", read_only: false,
      created_at: "2026-11-27T10:00:00Z", revoked_at: null, api_key: expect.stringMatching(/^tk_test_[A-Za-z0-9_-]{43}$/),
    });
    await ok(await call("POST", "/v1/customers", { token: key.api_key, body: { name: "made with the new key" } }), 201);

    const list = await ok(await call("GET", "/v1/api-keys", { token: key.api_key }));
    expect(list.items.map((k: any) => k.name)).toEqual(["first key", "ci"]);
    expect(list.items[1]).toEqual({ id: key.id, name: "ci", read_only: false, created_at: "2026-11-27T10:00:00Z", revoked_at: null });
    expect(JSON.stringify(list)).not.toContain("tk_test_");
    const stored = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?").bind(key.id).first<{ key_hash: string }>();
    expect(stored!.key_hash).toBe(sha256Hex(new TextEncoder().encode(key.api_key)));
  });

  it("a read-only key reads, and every mutation with it answers 403 read_only_key without effect", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor);
    const readOnly = await ok(await createKey(vendor, { read_only: true }), 201);
    expect(readOnly.read_only).toBe(true);
    expect((await ok(await call("GET", "/v1/contracts", { token: readOnly.api_key }))).items.map((c: any) => c.id)).toEqual([contract.id]);
    const mutations = [
      call("POST", "/v1/customers", { token: readOnly.api_key, body: { name: "x" } }),
      call("POST", "/v1/api-keys", { token: readOnly.api_key, body: {} }),
      call("DELETE", `/v1/api-keys/${readOnly.id}`, { token: readOnly.api_key }),
      call("POST", `/v1/contracts/${contract.id}/status-links`, { token: readOnly.api_key, body: {} }),
    ];
    for (const res of await Promise.all(mutations)) expect(await errorOf(res)).toEqual({ status: 403, error: "read_only_key" });
    expect((await ok(await call("GET", "/v1/customers", { token: vendor.api_key }))).items).toHaveLength(1);
    expect((await ok(await call("GET", "/v1/api-keys", { token: vendor.api_key }))).items).toHaveLength(2);
  });

  it("a revoked key answers 401 on its very next request; revoking again changes nothing", async () => {
    const vendor = await createVendor();
    const key = await ok(await createKey(vendor, { name: "laptop" }), 201);
    const revoked = await ok(await call("DELETE", `/v1/api-keys/${key.id}`, { token: vendor.api_key, now: NOW + 1000 }));
    expect(revoked).toEqual({ id: key.id, name: "laptop", read_only: false, created_at: "2026-11-27T10:00:00Z", revoked_at: "2026-11-27T10:00:01Z" });
    expect(await errorOf(await call("GET", "/v1/customers", { token: key.api_key }))).toEqual({ status: 401, error: "unauthorized" });
    expect(await ok(await call("DELETE", `/v1/api-keys/${key.id}`, { token: vendor.api_key, now: NOW + 5000 }))).toEqual(revoked);
  });

  it("the vendor's last full-access key cannot be revoked (409 last_full_access_key); read-only keys do not count", async () => {
    const vendor = await createVendor();
    await ok(await createKey(vendor, { read_only: true }), 201);
    const first = (await ok(await call("GET", "/v1/api-keys", { token: vendor.api_key }))).items[0];
    expect(await errorOf(await call("DELETE", `/v1/api-keys/${first.id}`, { token: vendor.api_key }))).toEqual({ status: 409, error: "last_full_access_key" });
    const second = await ok(await createKey(vendor, {}), 201);
    await ok(await call("DELETE", `/v1/api-keys/${first.id}`, { token: second.api_key }));
    expect((await call("GET", "/v1/api-keys", { token: vendor.api_key })).status).toBe(401);
  });

  it("an empty body creates an unnamed full-access key; a bad field is 422 naming it", async () => {
    const vendor = await createVendor();
    const res = await call("POST", "/v1/api-keys", { token: vendor.api_key });
    expect(await ok(res, 201)).toMatchObject({ name: null, read_only: false });
    const bad = await createKey(vendor, { read_only: "yes" });
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "read_only" } });
    const extra = await createKey(vendor, { admin: true });
    expect({ status: extra.status, body: await extra.json() }).toMatchObject({ status: 422, body: { error: "invalid_request" } });
  });

  it("a body that is not JSON is 415, not a key made on defaults; nothing is created", async () => {
    const vendor = await createVendor();
    const keys = async () => (await ok<{ items: unknown[] }>(await call("GET", "/v1/api-keys", { token: vendor.api_key }))).items.length;
    const before = await keys();
    for (const [raw, type] of [[new Uint8Array([0x7b, 0x00, 0xff]), undefined], ["name=ops", "application/x-www-form-urlencoded"], ['{"read_only":true}', "text/plain"]] as const) {
      const res = await call("POST", "/v1/api-keys", { token: vendor.api_key, raw, headers: type ? { "Content-Type": type } : {} });
      expect(await errorOf(res)).toEqual({ status: 415, error: "unsupported_media_type" });
    }
    expect(await keys()).toBe(before);
  });
});

describe("Idempotency-Key on answers that carry a secret", () => {
  it("the same key and body replay the same API key; the stored answer reveals neither the secret nor the key", async () => {
    const vendor = await createVendor();
    const headers = { "Idempotency-Key": "deploy-42" };
    const first = await ok(await createKey(vendor, { name: "deploy" }, headers), 201);
    const again = await createKey(vendor, { name: "deploy" }, headers);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await ok(again, 201)).toEqual(first);
    expect(await errorOf(await createKey(vendor, { name: "other" }, headers))).toEqual({ status: 409, error: "idempotency_conflict" });
    expect((await ok(await call("GET", "/v1/api-keys", { token: vendor.api_key }))).items).toHaveLength(2);

    const rows = await env.DB.prepare("SELECT * FROM idempotency_keys").all();
    const dump = JSON.stringify(rows.results);
    expect(dump).not.toContain(first.api_key);
    expect(dump).not.toContain(first.api_key.slice(8, 30));
    expect(dump).not.toContain("deploy-42");
  });

  it("creating a vendor replays its first API key with the same key; another body is 409", async () => {
    const post = (name: string) => call("POST", "/v1/vendors", { token: ADMIN_TOKEN, body: { name }, headers: { "Idempotency-Key": "signup-7" } });
    const first = await ok(await post("Umbrella"), 201);
    expect(await ok(await post("Umbrella"), 201)).toEqual(first);
    expect(await errorOf(await post("Initech"))).toEqual({ status: 409, error: "idempotency_conflict" });
    expect((await call("GET", "/v1/customers", { token: first.api_key })).status).toBe(200);
  });

  it("enrollment tokens replay, and a collector that lost its answer gets the same collector token back", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor);
    const issue = () => call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key, headers: { "Idempotency-Key": "site-a" } });
    const token = await ok(await issue(), 201);
    expect(await ok(await issue(), 201)).toEqual(token);

    const body = { enrollment_token: token.enrollment_token, public_key: "cd".repeat(32), site: "ship-3" };
    const enroll = (key?: string) => call("POST", "/v1/enroll", { body, headers: key ? { "Idempotency-Key": key } : {} });
    const enrolled = await ok(await enroll("boot-1"), 201);
    expect(await ok(await enroll("boot-1"), 201)).toEqual(enrolled);
    expect(await errorOf(await enroll())).toEqual({ status: 409, error: "enrollment_token_used" });
    expect(await errorOf(await enroll("boot-2"))).toEqual({ status: 409, error: "enrollment_token_used" });
    const collectors = await env.DB.prepare("SELECT id FROM collectors WHERE contract_id = ?").bind(contract.id).all();
    expect(collectors.results).toEqual([{ id: enrolled.collector_id }]);
  });
});
