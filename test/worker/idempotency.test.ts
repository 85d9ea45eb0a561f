// Idempotency-Key lifetimes (DESIGN.md §7, worker/middleware/idempotency.ts), on the injected
// request clock: an answered key replays for 24 h and is new again after; a claim whose request
// died (no answer) answers 409 idempotency_in_progress for 60 s and is then released to the retry.
import { describe, it, expect } from "vitest";
import { env } from "cloudflare:test";
import { sha256Hex } from "../../shared/protocol/index.ts";
import { call, createVendor, NOW, ok } from "./edge-fixture.ts";

const HOUR = 3_600_000;

function post(apiKey: string, name: string, now: number, key = "order-1"): Promise<Response> {
  return call("POST", "/v1/customers", { token: apiKey, body: { name }, headers: { "Idempotency-Key": key }, now });
}

async function customers(apiKey: string): Promise<string[]> {
  return (await ok(await call("GET", "/v1/customers", { token: apiKey }))).items.map((c: any) => c.name);
}

describe("idempotency key lifetimes", () => {
  it("an answered key replays for 24 hours; after that the key is new again", async () => {
    const vendor = await createVendor();
    const first = await ok(await post(vendor.api_key, "Plant 7", NOW), 201);
    const replay = await post(vendor.api_key, "Plant 7", NOW + 24 * HOUR - 1);
    expect([replay.headers.get("Idempotent-Replayed"), await ok(replay, 201)]).toEqual(["true", first]);
    expect((await post(vendor.api_key, "Plant 8", NOW + 24 * HOUR - 1)).status).toBe(409);
    const fresh = await ok(await post(vendor.api_key, "Plant 7", NOW + 24 * HOUR), 201);
    expect(fresh.id).not.toBe(first.id);
    expect(await ok(await post(vendor.api_key, "Plant 7", NOW + 25 * HOUR), 201)).toEqual(fresh); // the new answer replays in turn
    expect(await customers(vendor.api_key)).toEqual(["Plant 7", "Plant 7"]);
  });

  it("a claim whose request died answers 409 in progress for 60 s, then the retry takes it over", async () => {
    const vendor = await createVendor();
    // What a request that crashed after claiming leaves behind: a claim with no answer.
    const scope = `vendor:${vendor.id}`;
    const requestHash = sha256Hex(new TextEncoder().encode(`POST /v1/customers\n${JSON.stringify({ name: "Plant 7" })}`));
    await env.DB.prepare("INSERT INTO idempotency_keys (vendor_id, key, request_hash, status, response_json, created_at, claim) VALUES (?, ?, ?, NULL, NULL, ?, 'dead')")
      .bind(scope, sha256Hex(new TextEncoder().encode("order-1")), requestHash, NOW).run();
    const busy = await post(vendor.api_key, "Plant 7", NOW + 59_999);
    expect({ status: busy.status, error: ((await busy.json()) as any).error }).toEqual({ status: 409, error: "idempotency_in_progress" });
    const made = await ok(await post(vendor.api_key, "Plant 7", NOW + 60_000), 201);
    expect(await ok(await post(vendor.api_key, "Plant 7", NOW + 61_000), 201)).toEqual(made);
    expect(await customers(vendor.api_key)).toEqual(["Plant 7"]);
    // Even another body may take over a dead claim: nothing was ever answered for it.
    await env.DB.prepare("UPDATE idempotency_keys SET status = NULL, response_json = NULL, created_at = ? WHERE vendor_id = ?").bind(NOW, scope).run();
    expect((await post(vendor.api_key, "Plant 9", NOW + 60_000)).status).toBe(201);
  });

  it("expired keys are swept by later claims, a few at a time", async () => {
    const vendor = await createVendor();
    const old = Array.from({ length: 5 }, (_, i) => env.DB.prepare("INSERT INTO idempotency_keys (vendor_id, key, request_hash, status, response_json, created_at) VALUES ('vendor:gone', ?, 'r', 201, 'x', ?)").bind(`k${i}`, NOW - 25 * HOUR));
    await env.DB.batch(old);
    await ok(await post(vendor.api_key, "Plant 7", NOW), 201);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM idempotency_keys WHERE vendor_id = 'vendor:gone'").first()).toEqual({ n: 0 });
  });
});
