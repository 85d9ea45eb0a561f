// Tenancy, for every operation in the OpenAPI document (so a new route is covered as soon as it
// is declared): each principal that is not the owner — another vendor's key, a read-only key on a
// mutation, a revoked key, a status-link token or a collector token used as a bearer, no
// credentials — is refused, learns nothing about the owner's resources, and changes nothing.
import { describe, it, expect } from "vitest";
import { env } from "cloudflare:test";
import { ADMIN_TOKEN, call, enrolledSite, ok, postBatch } from "./edge-fixture.ts";

const METHODS = ["get", "post", "put", "patch", "delete"];
/** Operations anyone may call; every other operation must declare its security. */
const PUBLIC = new Set([
  "GET /health", "GET /v1/keys", "GET /openapi.json", "GET /docs", "GET /status/{token}",
  "POST /v1/enroll", "POST /v1/collectors/{id}/batches", "POST /v1/collectors/{id}/bundles",
]);

interface Operation { method: string; path: string; op: any; auth: string[] }

function operations(doc: any): Operation[] {
  return Object.entries<any>(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({
    method: m.toUpperCase(), path, op: item[m], auth: (item[m].security ?? []).flatMap((s: any) => Object.keys(s)),
  })));
}

/** The owner's real ids by type prefix, read from each path parameter's `pattern` (`^ctr_…`).
 * A parameter that is no typed id (a statement line) gets its example: the typed id before it
 * in the path (the owner's contract) is what a foreign principal must be refused on. */
function fillPath(path: string, op: any, ids: Record<string, string>): string {
  let typed = 0;
  const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const param = (op.parameters ?? []).find((p: any) => p.in === "path" && p.name === name);
    const prefix = /^\^([a-z]{3})_/.exec(param?.schema?.pattern ?? "")?.[1];
    if (!prefix) return encodeURIComponent(String(param?.schema?.example ?? "x"));
    typed++;
    return ids[prefix] ?? `${prefix}_${"0".repeat(32)}`;
  });
  if (typed === 0 && path.includes("{")) throw new Error(`${path}: the resource in the path needs a typed id schema (openapi/schemas.ts idParams/idSchema)`);
  return url;
}

async function world() {
  const owner = await enrolledSite();
  const other = await enrolledSite();
  const key = (body: unknown) => call("POST", "/v1/api-keys", { token: owner.vendor.api_key, body }).then((r) => ok(r, 201));
  const readOnly = await key({ name: "dashboard", read_only: true });
  const revoked = await key({ name: "old laptop" });
  await ok(await call("DELETE", `/v1/api-keys/${revoked.id}`, { token: owner.vendor.api_key }));
  const link = await ok(await call("POST", `/v1/contracts/${owner.contractId}/status-links`, { token: owner.vendor.api_key, body: {} }), 201);
  const contract = await ok(await call("GET", `/v1/contracts/${owner.contractId}`, { token: owner.vendor.api_key }));
  const ids: Record<string, string> = {
    ven: owner.vendor.id, ctr: owner.contractId, cus: contract.customer_id, col: owner.collectorId, key: readOnly.id, stl: link.id,
  };
  return { owner, other, readOnly, revoked, link, ids };
}

/** Everything the owner has in D1, to prove that refusals change nothing. */
async function ownerState(vendorId: string) {
  const q = (sql: string) => env.DB.prepare(sql).bind(vendorId).all().then((r) => r.results);
  return {
    keys: await q("SELECT id, revoked_at, read_only FROM api_keys WHERE vendor_id = ? ORDER BY id"),
    customers: await q("SELECT * FROM customers WHERE vendor_id = ? ORDER BY id"),
    contracts: await q("SELECT * FROM contracts WHERE vendor_id = ? ORDER BY id"),
    links: await q("SELECT * FROM status_links WHERE vendor_id = ? ORDER BY id"),
    enrollments: await q("SELECT id FROM enrollments WHERE vendor_id = ? ORDER BY id"),
    collectors: await q("SELECT id, site FROM collectors WHERE vendor_id = ? ORDER BY id"),
  };
}

describe("tenancy matrix over the OpenAPI document", () => {
  it("every operation is public by name or declares how it authenticates", async () => {
    const doc = await ok(await call("GET", "/openapi.json"));
    const undeclared = operations(doc).filter((o) => o.auth.length === 0 && !PUBLIC.has(`${o.method} ${o.path}`)).map((o) => `${o.method} ${o.path}`);
    expect(undeclared).toEqual([]);
  });

  it("no principal but the owner gets an owner's resource, and none of them changes anything", async () => {
    const doc = await ok(await call("GET", "/openapi.json"));
    const w = await world();
    const before = await ownerState(w.owner.vendor.id);
    const bearers = {
      none: undefined, revoked: w.revoked.api_key, statusToken: w.link.token, collectorToken: w.other.collectorToken,
      otherVendor: w.other.vendor.api_key, readOnly: w.readOnly.api_key, ownerKey: w.owner.vendor.api_key, operator: ADMIN_TOKEN,
    };
    type Principal = keyof typeof bearers;
    /** Who is tried on each kind of operation, and the answer each must get. */
    const expectations = (o: Operation, url: string): Array<[Principal, number, string]> => {
      const mutation = o.method !== "GET";
      const namesResource = url !== o.path;
      if (o.auth.includes("vendorKey")) {
        const rows: Array<[Principal, number, string]> = [
          ["none", 401, "unauthorized"], ["revoked", 401, "unauthorized"], ["statusToken", 401, "unauthorized"],
          ["collectorToken", 401, "unauthorized"], ["operator", 401, "unauthorized"],
        ];
        if (mutation) rows.push(["readOnly", 403, "read_only_key"]);
        if (namesResource) rows.push(["otherVendor", 404, "not_found"]);
        return rows;
      }
      if (o.auth.includes("operatorToken")) return [["none", 401, "unauthorized"], ["ownerKey", 401, "unauthorized"], ["statusToken", 401, "unauthorized"]];
      if (o.auth.includes("collectorToken")) {
        // The collector named in the path is the owner's; the token is another contract's collector's.
        return [["none", 401, "unauthorized"], ["ownerKey", 401, "unauthorized"], ["collectorToken", 401, "unauthorized"]];
      }
      return [];
    };

    const tried: string[] = [];
    for (const o of operations(doc)) {
      if (o.auth.length === 0) continue;
      const url = fillPath(o.path, o.op, w.ids);
      const idsNotInUrl = Object.values(w.ids).filter((id) => !url.includes(id));
      for (const [who, status, error] of expectations(o, url)) {
        const res = await call(o.method, url, { token: bearers[who], body: o.op.requestBody ? {} : undefined });
        const text = await res.text();
        expect({ route: `${o.method} ${o.path}`, who, status: res.status, error: JSON.parse(text).error })
          .toEqual({ route: `${o.method} ${o.path}`, who, status, error });
        for (const id of idsNotInUrl) expect(text, `${o.method} ${o.path} as ${who} reveals ${id}`).not.toContain(id);
        tried.push(`${o.method} ${o.path} ${who}`);
      }
      // Another vendor listing (no id in the path) sees only its own things.
      if (o.auth.includes("vendorKey") && o.method === "GET" && url === o.path) {
        const text = await (await call("GET", url, { token: w.other.vendor.api_key })).text();
        for (const id of Object.values(w.ids)) expect(text, `${o.path} lists ${id} to another vendor`).not.toContain(id);
      }
    }
    expect(await ownerState(w.owner.vendor.id)).toEqual(before);
    expect(tried).toEqual(expect.arrayContaining([
      "DELETE /v1/api-keys/{id} otherVendor", "DELETE /v1/status-links/{id} readOnly", "GET /v1/contracts/{id}/collectors otherVendor",
      "POST /v1/contracts/{id}/status-links statusToken", "POST /v1/vendors ownerKey",
    ]));
  });

  it("a status link token opens only its own contract's status, and an API key is no status token", async () => {
    const w = await world();
    w.owner.chain.usage();
    await ok(await postBatch(w.owner.collectorId, w.owner.chain.batch(1, 1)));
    const otherLink = await ok(await call("POST", `/v1/contracts/${w.other.contractId}/status-links`, { token: w.other.vendor.api_key, body: {} }), 201);
    const mine = await ok(await call("GET", `/status/${w.link.token}`, { headers: { Accept: "application/json" } }));
    const theirs = await ok(await call("GET", `/status/${otherLink.token}`, { headers: { Accept: "application/json" } }));
    expect({ sites: mine.sites, usage: mine.usage.license_seconds }).toEqual({ sites: [{ site: "plant-7", last_sync: "2026-11-27T10:00:00Z", stale: false }], usage: 3600 });
    expect({ sites: theirs.sites, usage: theirs.usage.license_seconds }).toEqual({ sites: [{ site: "plant-7", last_sync: null, stale: false }], usage: 0 });
    expect((await call("GET", `/status/${w.owner.vendor.api_key}`, { headers: { Accept: "application/json" } })).status).toBe(404);
  });
});
