// Edge-key rotation (worker/auth/edge-key.ts): GET /v1/keys and bundle replies list the current
// key first, then EDGE_SIGNING_KEYS_PREVIOUS, each endorsed by the key it replaced; a bad key
// configuration answers every request with 500 `edge_misconfigured`, never a stack; answers
// sealed under a previous key still replay. A leaked previous key (EDGE_SIGNING_KEYS_REVOKED) is
// listed with a revocation by the current key, endorses nothing, and answers sealed under it are
// refused. The app runs in workerd with these bindings changed.
import { describe, expect, it } from "vitest";
import { createExecutionContext, env } from "cloudflare:test";
import { app } from "../../worker/app.ts";
import { endorsedKeys, generateKeyPair, keyIdOf, publicKeyOf, verifyReceipt, verifyRevocation } from "../../shared/protocol/index.ts";
import { call, createVendor, enrolledSite, NOW, ok } from "./edge-fixture.ts";

const CURRENT = env.EDGE_SIGNING_KEY;
const [p1, p2] = [generateKeyPair().secretKey, generateKeyPair().secretKey];
const ref = (seed: string) => ({ key_id: keyIdOf(publicKeyOf(seed)), public_key: publicKeyOf(seed) });
/** `seed`'s key as a site learns it: through `by`'s endorsement. */
const learnt = (seed: string, by: string) => ({ ...ref(seed), endorsed_by: ref(by).key_id });

/** The Worker with other key bindings (the ContractDO keeps the test's EDGE_SIGNING_KEY). */
function withKeys(keys: { EDGE_SIGNING_KEY?: string; EDGE_SIGNING_KEYS_PREVIOUS?: string; EDGE_SIGNING_KEYS_REVOKED?: string }, method: string, path: string, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { "X-Tally-Now": String(NOW), ...init.headers };
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  if (init.body !== undefined) headers["Content-Type"] = "application/json";
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  return Promise.resolve(app.request(`http://edge.test${path}`, { method, headers, body }, { ...env, ...keys }, createExecutionContext()));
}

describe("GET /v1/keys", () => {
  it("without previous keys: the one key, no endorsement (the response as before rotation existed)", async () => {
    expect(await ok(await call("GET", "/v1/keys"))).toEqual({ keys: [ref(CURRENT)] });
  });

  it("lists the current key first, then the previous ones, each endorsed by the key it replaced", async () => {
    const { keys } = await ok(await withKeys({ EDGE_SIGNING_KEYS_PREVIOUS: `${p1}, ${p2.toUpperCase()}` }, "GET", "/v1/keys"));
    expect(keys.map((k: any) => [k.key_id, k.public_key, k.endorsement?.endorsed_by])).toEqual([
      [ref(CURRENT).key_id, ref(CURRENT).public_key, ref(p1).key_id],
      [ref(p1).key_id, ref(p1).public_key, ref(p2).key_id],
      [ref(p2).key_id, ref(p2).public_key, undefined],
    ]);
    // A site that trusted only the oldest key learns both rotations, in order; one trusting none learns nothing.
    expect(endorsedKeys([ref(p2)], keys).learned).toEqual([learnt(p1, p2), learnt(CURRENT, p1)]);
    expect(endorsedKeys([], keys).learned).toEqual([]);
    // Deterministic: every isolate and every request publishes the same bytes.
    expect(await ok(await withKeys({ EDGE_SIGNING_KEYS_PREVIOUS: `${p1},${p2}` }, "GET", "/v1/keys"))).toEqual({ keys });
  });

  it.each([
    ["the current key listed as a previous one", { EDGE_SIGNING_KEYS_PREVIOUS: CURRENT.toUpperCase() }, "EDGE_SIGNING_KEYS_PREVIOUS item 1 is the current EDGE_SIGNING_KEY"],
    ["a malformed seed", { EDGE_SIGNING_KEYS_PREVIOUS: `${p1},abc` }, "EDGE_SIGNING_KEYS_PREVIOUS item 2 must be 64 hex digits"],
    ["a seed listed twice", { EDGE_SIGNING_KEYS_PREVIOUS: `${p1},${p2},${p1}` }, "EDGE_SIGNING_KEYS_PREVIOUS item 3 repeats item 1"],
    ["an empty item", { EDGE_SIGNING_KEYS_PREVIOUS: `${p1},` }, "EDGE_SIGNING_KEYS_PREVIOUS item 2 must be 64 hex digits"],
    ["a malformed current key", { EDGE_SIGNING_KEY: "zz".repeat(32) }, "EDGE_SIGNING_KEY must be 64 hex digits"],
    ["the current key revoked", { EDGE_SIGNING_KEYS_PREVIOUS: p1, EDGE_SIGNING_KEYS_REVOKED: ref(CURRENT).key_id }, "EDGE_SIGNING_KEYS_REVOKED item 1 is the current EDGE_SIGNING_KEY's id"],
    ["a revoked id that is no previous key's", { EDGE_SIGNING_KEYS_PREVIOUS: p1, EDGE_SIGNING_KEYS_REVOKED: `${ref(p1).key_id},${ref(p2).key_id}` }, `EDGE_SIGNING_KEYS_REVOKED item 2 (${ref(p2).key_id}) is not the key id of an EDGE_SIGNING_KEYS_PREVIOUS item`],
  ])("%s: every request, health included, answers 500 edge_misconfigured naming it", async (_what, keys, problem) => {
    for (const path of ["/v1/keys", "/health"]) {
      const res = await withKeys(keys, "GET", path);
      const body = await res.json() as Record<string, unknown>;
      expect(res.status).toBe(500);
      expect(Object.keys(body).sort()).toEqual(["error", "message"]);
      expect(body.error).toBe("edge_misconfigured");
      expect(body.message).toContain(problem);
      expect(body.message).not.toContain(p1); // never echoes a secret
    }
  });
});

describe("a revoked (leaked) previous key", () => {
  it("is listed with a revocation by the current key, endorses nothing, and the key it preceded is endorsed past it", async () => {
    const { keys } = await ok(await withKeys({ EDGE_SIGNING_KEYS_PREVIOUS: `${p1},${p2}`, EDGE_SIGNING_KEYS_REVOKED: ` ${ref(p1).key_id} ` }, "GET", "/v1/keys"));
    expect(keys.map((k: any) => [k.key_id, k.endorsement?.endorsed_by, k.revocation?.revoked_by])).toEqual([
      [ref(CURRENT).key_id, ref(p2).key_id, undefined],
      [ref(p1).key_id, undefined, ref(CURRENT).key_id],
      [ref(p2).key_id, undefined, undefined],
    ]);
    expect(verifyRevocation(ref(p1), keys[1].revocation, ref(CURRENT))).toBe(true);
    // A site trusting p2 and the leaked p1 learns the current key through p2 and drops p1.
    expect(endorsedKeys([ref(p2), ref(p1)], keys)).toMatchObject({ learned: [ref(CURRENT)], revoked: [ref(p1)] });
    // One that trusted only the leaked key learns nothing (a person vouches for the new key).
    expect(endorsedKeys([ref(p1)], keys)).toMatchObject({ learned: [], revoked: [] });
  });

  it("a bundle reply lists the revocation as GET /v1/keys does", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const keys = { EDGE_SIGNING_KEYS_PREVIOUS: p1, EDGE_SIGNING_KEYS_REVOKED: ref(p1).key_id };
    const res = await ok(await withKeys(keys, "POST", `/v1/collectors/${site.collectorId}/bundles`, { body: { format: "tally-bundle/v1", collector_id: site.collectorId, batches: [site.chain.batch(1, 1)] } }));
    expect(res.edge_keys).toEqual((await ok(await withKeys(keys, "GET", "/v1/keys"))).keys);
    expect(res.edge_keys[1].revocation.revoked_by).toBe(ref(CURRENT).key_id);
    expect(res.receipts[0].receipt.key_id).toBe(ref(CURRENT).key_id);
  });

  it("an idempotent answer sealed under it is refused (409 idempotency_conflict), not replayed, and changes nothing", async () => {
    const vendor = await createVendor();
    const [leaked, after] = [generateKeyPair().secretKey, generateKeyPair().secretKey];
    const post = (keys: Record<string, string>) => withKeys(keys, "POST", "/v1/customers", { token: vendor.api_key, body: { name: "Plant 9" }, headers: { "Idempotency-Key": "leak-1" } });
    await ok(await post({ EDGE_SIGNING_KEY: leaked }), 201);
    const refused = await ok(await post({ EDGE_SIGNING_KEY: after, EDGE_SIGNING_KEYS_PREVIOUS: leaked, EDGE_SIGNING_KEYS_REVOKED: ref(leaked).key_id }), 409);
    expect(refused).toEqual({ error: "idempotency_conflict", message: `the answer stored for this key was sealed under the revoked edge key ${ref(leaked).key_id}; use a new key` });
    expect((await ok(await call("GET", "/v1/customers", { token: vendor.api_key }))).items.map((c: any) => c.name)).toEqual(["Plant 9"]);
    // The same key under the same configuration without the revocation replays it (the refusal is the revocation's).
    expect((await post({ EDGE_SIGNING_KEY: after, EDGE_SIGNING_KEYS_PREVIOUS: leaked })).headers.get("Idempotent-Replayed")).toBe("true");
  });
});

describe("rotation elsewhere", () => {
  it("a bundle reply carries the edge keys with their endorsements, and its receipts verify with the first", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 3; i++) site.chain.usage();
    const bundle = { format: "tally-bundle/v1", collector_id: site.collectorId, batches: [site.chain.batch(1, 2), site.chain.batch(3, 3)] };
    const res = await ok(await withKeys({ EDGE_SIGNING_KEYS_PREVIOUS: p1 }, "POST", `/v1/collectors/${site.collectorId}/bundles`, { body: bundle }));
    expect(res.edge_keys.map((k: any) => k.key_id)).toEqual([ref(CURRENT).key_id, ref(p1).key_id]);
    expect(endorsedKeys([ref(p1)], res.edge_keys).learned).toEqual([learnt(CURRENT, p1)]);
    for (const r of res.receipts) expect(verifyReceipt(r.receipt, r.signature, res.edge_keys[0].public_key)).toBe(true);
    // A refused bundle's reply carries them too: the site imports the receipts before the refusal.
    const refused = await withKeys({}, "POST", `/v1/collectors/${site.collectorId}/bundles`, { body: { ...bundle, batches: [site.chain.batch(3, 3), site.chain.batch(1, 1)] } });
    expect((await refused.json() as any).edge_keys).toEqual([ref(CURRENT)]);
  });

  it("an idempotent answer sealed before a rotation still replays after it, with the old key listed", async () => {
    const vendor = await createVendor();
    const [before, after] = [generateKeyPair().secretKey, generateKeyPair().secretKey];
    const post = (keys: Record<string, string>) => withKeys(keys, "POST", "/v1/customers", { token: vendor.api_key, body: { name: "Plant 7" }, headers: { "Idempotency-Key": "rotate-1" } });
    const first = await ok(await post({ EDGE_SIGNING_KEY: before }), 201);
    // Without the previous key the sealed answer cannot be opened (as before this change).
    expect((await ok(await post({ EDGE_SIGNING_KEY: after }), 409)).error).toBe("idempotency_conflict");
    const replay = await post({ EDGE_SIGNING_KEY: after, EDGE_SIGNING_KEYS_PREVIOUS: before });
    expect([replay.headers.get("Idempotent-Replayed"), await ok(replay, 201)]).toEqual(["true", first]);
    expect((await ok(await call("GET", "/v1/customers", { token: vendor.api_key }))).items.map((c: any) => c.name)).toEqual(["Plant 7"]);
  });
});
