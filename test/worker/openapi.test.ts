// The OpenAPI document and reference page (DESIGN.md §7): generated from the same zod schemas
// that validate requests, covering every route of the app, served without network access; and
// the stable error shapes that validation answers with.
import { describe, it, expect } from "vitest";
import { app } from "../../worker/app.ts";
import { balanceSchema } from "../../worker/routes/balance.ts";
import { customerStatusSchema } from "../../worker/routes/status.ts";
import { call, createVendor, enrolledSite, HOUR, NOW, ok, postBatch } from "./edge-fixture.ts";

/** Not API and deliberately left out of the document: development-only routes (refused in
 * production) and the vendor console's HTML pages (which call the API in-process). */
const UNDOCUMENTED_PREFIXES = ["/__dev/", "/console"];
const METHODS = ["get", "post", "put", "patch", "delete"];

export function appRoutes(): string[] {
  const routes = app.routes
    .filter((r) => r.method !== "ALL" && !r.path.endsWith("*"))
    .map((r) => `${r.method} ${r.path.replace(/:([A-Za-z_]+)/g, "{$1}")}`);
  return [...new Set(routes)].sort();
}

export function documentedRoutes(doc: any): string[] {
  return Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${path}`)).sort();
}

describe("GET /openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every route of the app, and nothing the app does not serve", async () => {
    const doc = await ok(await call("GET", "/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.servers).toEqual([{ url: "http://edge.test" }]);
    const served = appRoutes().filter((r) => !UNDOCUMENTED_PREFIXES.some((p) => r.split(" ")[1]!.startsWith(p)));
    expect(documentedRoutes(doc)).toEqual(served);
    expect(served).toEqual(expect.arrayContaining([
      "GET /v1/contracts/{id}/collectors", "POST /v1/api-keys", "DELETE /v1/api-keys/{id}", "POST /v1/contracts/{id}/status-links",
      "DELETE /v1/status-links/{id}", "GET /status/{token}", "POST /v1/collectors/{id}/batches", "GET /docs",
    ]));
  });

  it("a write that takes no body declares the refusals of a body sent to it (400, 413, 415, 422)", async () => {
    // Before, the enrollments POST, the revocation, the DELETEs and reconcile answered them undeclared.
    const doc = await ok(await call("GET", "/openapi.json"));
    const bodiless = Object.entries<any>(doc.paths).flatMap(([path, item]) => ["post", "put", "patch", "delete"].filter((m) => item[m] && !item[m].requestBody).map((m) => [`${m} ${path}`, item[m]] as const));
    expect(bodiless.length).toBeGreaterThan(3);
    for (const [route, op] of bodiless) expect({ route, declared: ["400", "413", "415", "422"].filter((s) => op.responses[s]) }).toEqual({ route, declared: ["400", "413", "415", "422"] });
  });

  it("every operation names its auth and answers errors with the Error schema", async () => {
    const doc = await ok(await call("GET", "/openapi.json"));
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["collectorToken", "operatorToken", "vendorKey"]);
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const method of METHODS.filter((m) => item[m])) {
        const op = item[method];
        expect({ route: `${method} ${path}`, summary: typeof op.summary, tags: op.tags?.length }).toEqual({ route: `${method} ${path}`, summary: "string", tags: 1 });
        for (const [status, response] of Object.entries<any>(op.responses)) {
          if (Number(status) >= 400 && response.content?.["application/json"]) {
            expect(response.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
          }
        }
      }
    }
  });

  it("documents the batch body as a schema without validating it through zod (gzip and strict JSON stay)", async () => {
    const doc = await ok(await call("GET", "/openapi.json"));
    const op = doc.paths["/v1/collectors/{id}/batches"].post;
    expect(op.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Batch" });
    expect(Object.keys(doc.components.schemas.Batch.properties).sort()).toEqual(["checkpoint", "records", "signature"]);
  });
});

describe("GET /docs", () => {
  it("is Scalar's page over /openapi.json, its script one of the edge's own assets, under a CSP that allows no other origin", async () => {
    const res = await call("GET", "/docs");
    expect(res.headers.get("Content-Type")).toBe("text/html; charset=UTF-8");
    const html = await res.text();
    const nonce = /nonce="([^"]+)"/.exec(html)?.[1];
    expect(html).toContain(`<script src="/console/assets/scalar-api-reference.js" nonce="${nonce}"></script>`);
    expect(html).toMatch(/"url": "\/openapi.json"/);
    expect(html).toMatch(/"withDefaultFonts": false/);
    expect(html).toMatch(/"proxyUrl": ""/);
    expect(html).not.toMatch(/https?:\/\//);
    const csp = res.headers.get("Content-Security-Policy")!;
    expect(csp).toContain(`script-src 'self' 'nonce-${nonce}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/https?:|\*/);
    const again = await (await call("GET", "/docs")).text();
    expect(/nonce="([^"]+)"/.exec(again)?.[1]).not.toBe(nonce);
  });
});

describe("validation answers the stable error shape", () => {
  it("a JSON body breaking the schema is 422 invalid_request naming the field; unparseable JSON is 400 malformed", async () => {
    const vendor = await createVendor();
    const missing = await call("POST", "/v1/customers", { token: vendor.api_key, body: { external_id: "x" } });
    expect({ status: missing.status, body: await missing.json() }).toEqual({ status: 422, body: { error: "invalid_request", message: expect.stringMatching(/^name: /), field: "name" } });
    const broken = await call("POST", "/v1/customers", { token: vendor.api_key, raw: "{", headers: { "Content-Type": "application/json" } });
    expect({ status: broken.status, body: await broken.json() }).toEqual({ status: 400, body: { error: "malformed", message: "request body is not valid JSON" } });
  });

  it("an unknown field, __proto__ included, is 422 naming it, at any depth, and nothing is created", async () => {
    const vendor = await createVendor();
    for (const raw of ['{"name":"ok","__proto__":{"x":1}}', '{"__proto__":{"admin":true}}']) {
      const res = await call("POST", "/v1/api-keys", { token: vendor.api_key, raw, headers: { "Content-Type": "application/json" } });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 422, body: { error: "invalid_request", message: "__proto__: not a field", field: "__proto__" } });
    }
    const nested = await call("POST", "/v1/contracts", { token: vendor.api_key, raw: '{"customer_id":"cus_x","start":"2026-11-01","timezone":"UTC","plan":{"unit_name":"t","__proto__":{"a":1}}}', headers: { "Content-Type": "application/json" } });
    expect({ status: nested.status, body: await nested.json() }).toEqual({ status: 422, body: { error: "invalid_request", message: "plan.__proto__: not a field", field: "plan.__proto__" } });
    const extra = await call("POST", "/v1/customers", { token: vendor.api_key, body: { name: "n", admin: true } });
    expect(await extra.json()).toEqual({ error: "invalid_request", message: "admin: not a field", field: "admin" });
    expect((await ok(await call("GET", "/v1/api-keys", { token: vendor.api_key }))).items).toHaveLength(1);
    expect((await ok(await call("GET", "/v1/customers", { token: vendor.api_key }))).items).toEqual([]);
  });

  it("a body that is not JSON is 415 unsupported_media_type", async () => {
    const vendor = await createVendor();
    const res = await call("POST", "/v1/customers", { token: vendor.api_key, raw: "name=x", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect({ status: res.status, error: ((await res.json()) as any).error }).toEqual({ status: 415, error: "unsupported_media_type" });
    expect((await ok(await call("GET", "/v1/customers", { token: vendor.api_key }))).items).toEqual([]);
  });

  it("a path id of the wrong shape is 404 not_found, like an id that does not exist", async () => {
    const vendor = await createVendor();
    for (const path of ["/v1/contracts/42", "/v1/contracts/ctr_0000000000000000000000000000000g/balance"]) {
      const res = await call("GET", path, { token: vendor.api_key });
      expect({ status: res.status, error: ((await res.json()) as any).error }).toEqual({ status: 404, error: "not_found" });
    }
  });

  it("a query parameter the route does not declare is 422 naming it, not silently ignored; the status page takes a shared link's extras and /health a probe's", async () => {
    const site = await enrolledSite();
    const token = site.vendor.api_key, contract = `/v1/contracts/${site.contractId}`;
    const range = "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z";
    expect((await call("GET", `${contract}/usage?${range}&group_by=feature`, { token })).status).toBe(200);
    for (const [path, field] of [
      [`${contract}/usage?${range}&group-by=feature`, "query.group-by"], // a typo would have answered ungrouped totals
      [`/v1/contracts?limt=5`, "query.limt"],
      [`${contract}/balance?period=2026-10-01`, "query.period"], // a route with no query at all
    ]) {
      const res = await call("GET", path!, { token });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 422, body: { error: "invalid_request", message: `${field}: not a field`, field } });
    }
    const link = await ok(await call("POST", `${contract}/status-links`, { token, body: {} }), 201);
    const page = await call("GET", `${new URL(link.url).pathname}?utm_source=newsletter`, { headers: { accept: "application/json" } });
    expect(page.status).toBe(200);
    expect((await call("GET", "/health?probe=1")).status).toBe(200);
  });
});

describe("answers as documented", () => {
  it("a balance and a status page's JSON match their schemas in the document; license-seconds stay whole (a record of milliseconds is quarantined)", async () => {
    // Before, the Balance schema left out grants, charges, status… (the SDK did not type them).
    const site = await enrolledSite();
    site.chain.usage({ count: 2 });
    site.chain.usage({ feature: "Simulink", start: NOW - 2 * HOUR + 250, end: NOW - HOUR });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    await ok(await call("POST", `/v1/contracts/${site.contractId}/grants`, { token: site.vendor.api_key, body: { amount: "100", idempotency_key: "g1" } }), 201);
    const balance = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
    expect([balance.usage.license_seconds, balance.quarantined_records]).toEqual([7200, 1]);
    // `strict` at the top and in usage: every field the answer has is in the schema (looseObject allows more).
    expect(() => balanceSchema.strict().extend({ usage: (balanceSchema.shape.usage as any).strict() }).parse(balance)).not.toThrow();
    const link = await ok(await call("POST", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key, body: { name: "plant" } }), 201);
    const status = await ok(await call("GET", new URL(link.url).pathname, { headers: { Accept: "application/json" } }));
    expect(() => customerStatusSchema.strict().parse(status)).not.toThrow();
  });

  it("a grant's instants given with milliseconds are kept to the second: its answer and the balance show the same", async () => {
    // Before, the answer floored them and the balance printed the milliseconds (a contract's export floored them too).
    const site = await enrolledSite();
    const grant = await ok(await call("POST", `/v1/contracts/${site.contractId}/grants`, { token: site.vendor.api_key, body: { amount: "100", idempotency_key: "ms", effective_at: "2026-11-02T00:00:00.500Z", expires_at: "2027-01-01T00:00:00.750+00:00" } }), 201);
    expect([grant.effective_at, grant.expires_at]).toEqual(["2026-11-02T00:00:00Z", "2027-01-01T00:00:00Z"]);
    const balance = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
    expect(balance.grants.map((g: { effective_at: string; expires_at: string }) => [g.effective_at, g.expires_at])).toEqual([["2026-11-02T00:00:00Z", "2027-01-01T00:00:00Z"]]);
  });
});
