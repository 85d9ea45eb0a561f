// The routes the malformed-input fuzzing (Guarantee 4) aims at, each with a fast-check arbitrary
// of requests that must all be refused (or be harmless reads): which ids fill the path, which
// credentials, content type, encoding and body. Routes come from /openapi.json, plus the
// collector routes it does not list; a route added later is fuzzed with garbage bodies.
import fc from "fast-check";
import { ADMIN_TOKEN, plan, type Site } from "../edge-fixture.ts";
import { CONTENT_TYPES, garbageBody, raw, serialise, wrongBody, wrongTypeFor, type Template } from "./fuzz-bodies.ts";

export interface FuzzRequest { method: string; path: string; headers: Record<string, string>; body?: string | Uint8Array; label: string; expect?: { status: number; error: string } }

export interface World {
  site: Site; stranger: Site; customerId: string; strangerCustomerId: string; statusToken: string; usedEnrollmentToken: string;
  spec: { paths: Record<string, Record<string, unknown>> };
}

export interface Endpoint { name: string; weight: number; cases: fc.Arbitrary<FuzzRequest> }

/** Routes outside /openapi.json (hand-written Hono routes), as OpenAPI-style templates. */
const UNLISTED = [
  "POST /v1/collectors/{id}/doc", "POST /v1/collectors/{id}/bundles", "POST /v1/collectors/{id}/revoke",
  "POST /v1/collectors/{id}/resolve", "POST /v1/contracts/{id}/collectors/{cid}/bundles",
];

function templates(world: World): Record<string, Template> {
  return {
    "POST /v1/vendors": { body: { name: "Acme" }, typed: ["name"], required: ["name"] },
    "POST /v1/api-keys": { body: { name: "ci", read_only: true }, typed: ["name", "read_only"], required: [] },
    "POST /v1/customers": { body: { name: "Plant 9", external_id: "ext-9" }, typed: ["name", "external_id"], required: ["name"] },
    "POST /v1/contracts": {
      body: { customer_id: world.customerId, plan: structuredClone(plan), start: "2026-11-01", timezone: "Europe/Berlin", statement_grace_h: 72, expected_sync_s: 3600 },
      typed: ["customer_id", "plan", "plan.currency", "plan.unit_name", "plan.period", "plan.rates", "start", "timezone", "statement_grace_h", "expected_sync_s"],
      required: ["customer_id", "plan", "start", "timezone", "plan.currency", "plan.period", "plan.rates"],
      wrongValues: {
        customer_id: ["cus_000000000000aaaaaaaaaaaaaaaaaaaa", world.strangerCustomerId],
        timezone: ["Mars/Olympus_Mons", "UTC+25"], start: ["2026-13-45", "yesterday!"],
        "plan.currency": ["usd", "DOLLARS"], "plan.period": ["fortnight"], "plan.rates": [{}, { MATLAB: "-1" }, { MATLAB: "1.0000000000001" }, { MATLAB: raw("1") }],
        statement_grace_h: [-1, 1e9, raw("1.5")], expected_sync_s: [0, raw("1e400")],
      },
    },
    "POST /v1/contracts/{id}/status-links": { body: { name: "customer" }, typed: ["name"], required: [] },
    "POST /v1/enroll": {
      body: { enrollment_token: world.usedEnrollmentToken, public_key: "cd".repeat(32), site: "plant-9" },
      typed: ["enrollment_token", "public_key", "site"], required: ["enrollment_token", "public_key", "site"],
      wrongValues: { enrollment_token: ["te_test_neverissued", world.usedEnrollmentToken], public_key: ["CD".repeat(32), "cd".repeat(31), "zz".repeat(32)], site: ["", "s".repeat(257)] },
    },
    "POST /v1/collectors/{id}/resolve": { body: { last_common_seq: 1 }, typed: ["last_common_seq"], required: [], wrongValues: { last_common_seq: [-1, 1e6, raw("1.5"), raw("1e400")] } },
  };
}

const auths = (world: World, kind: string) => {
  const valid = kind === "admin" ? ADMIN_TOKEN : kind === "collector" ? world.site.collectorToken : world.site.vendor.api_key;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant<[string, string | undefined]>(["valid", valid]) },
    fc.constantFrom<[string, string | undefined]>(
      ["none", undefined], ["garbage", "tk_test_not-a-key"], ["other vendor", world.stranger.vendor.api_key],
      ["collector token", world.site.collectorToken], ["admin token", ADMIN_TOKEN], ["empty", ""],
    ),
  );
};

const garbageSegment = fc.string({ unit: "binary", minLength: 1, maxLength: 80 }).map(encodeURIComponent);

/** Path ids: the world's own (mostly), another vendor's, a well-formed unknown one, garbage. */
function idsFor(world: World, path: string, ownAllowed: boolean): fc.Arbitrary<[string, string]> {
  const own: Record<string, string> = { contracts: world.site.contractId, collectors: world.site.collectorId, status: world.statusToken };
  const other: Record<string, string> = { contracts: world.stranger.contractId, collectors: world.stranger.collectorId };
  const resource = path.split("/")[path.startsWith("/v1/") ? 2 : 1]!;
  const prefix = { contracts: "ctr", collectors: "col", "api-keys": "key", "status-links": "stl" }[resource] ?? "x";
  const options: fc.Arbitrary<[string, string]>[] = [
    fc.constant<[string, string]>(["unknown id", `${prefix}_000000000000aaaaaaaaaaaaaaaaaaaa`]),
    garbageSegment.map((s): [string, string] => ["garbage id", s]),
  ];
  if (other[resource]) options.push(fc.constant<[string, string]>(["other vendor's id", other[resource]!]));
  if (ownAllowed && own[resource]) options.push(fc.constant<[string, string]>(["own id", own[resource]!]), fc.constant<[string, string]>(["own id", own[resource]!]));
  return fc.oneof(...options);
}

function authKind(path: string): string {
  if (path === "/v1/vendors") return "admin";
  if (path.endsWith("/doc")) return "collector";
  if (["/v1/enroll", "/v1/keys", "/health", "/openapi.json", "/docs"].includes(path) || path.startsWith("/status/") || path.endsWith("/batches") || path === "/v1/collectors/{id}/bundles") return "none";
  return "vendor";
}

const query = fc.oneof(
  fc.constant(""),
  fc.tuple(fc.constantFrom("limit", "cursor", "from", "to", "group_by", "period", "x"), fc.oneof(fc.constantFrom("0", "-1", "101", "1e400", "1.5", "", "NaN", "99999999999999999999"), garbageSegment))
    .map(([k, v]) => `?${k}=${v}`),
);

const headerNoise = fc.record({
  contentType: fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, fc.constantFrom(...CONTENT_TYPES)),
  encoding: fc.oneof({ weight: 8, arbitrary: fc.constant("") }, fc.constantFrom("gzip", "br", "deflate", "identity, gzip", "x-unknown")),
  idempotency: fc.oneof({ weight: 6, arbitrary: fc.constant("") }, fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 300 })),
});

/** A genuine, signed, fresh batch of `site` with one change that can only make it wrong. */
function mutatedBatch(site: Site): fc.Arbitrary<{ body: string; defect: string }> {
  const genuine = site.chain.batch(4, site.chain.records.length);
  const paths: string[] = [];
  const walk = (v: unknown, p: string) => {
    if (p) paths.push(p);
    if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
  };
  walk(genuine, "");
  return fc.tuple(fc.constantFrom(...paths), fc.constantFrom("wrong type", "removed", "extra key", "other string")).chain(([path, op]) => {
    const keys = path.split(".");
    const at = (root: any) => keys.slice(0, -1).reduce((n, k) => n[k], root);
    const original = at(genuine)[keys[keys.length - 1]!];
    const value: fc.Arbitrary<unknown> = op === "wrong type" ? wrongTypeFor(original)
      : op === "other string" ? fc.string({ unit: "grapheme", maxLength: 20 }).filter((s) => s !== original) : fc.constant(undefined);
    return value.map((v) => {
      const copy = structuredClone(genuine) as any;
      const parent = at(copy);
      const last = keys[keys.length - 1]!;
      if (op === "removed") { if (Array.isArray(parent)) parent.splice(Number(last), 1); else delete parent[last]; }
      else if (op === "extra key") { if (parent && typeof parent === "object" && !Array.isArray(parent)) parent[`x_${last}`] = 1; else parent[last] = [parent[last]]; }
      else parent[last] = v;
      return { body: serialise(copy), defect: `${path}: ${op}` };
    });
  });
}

export function endpointsOf(world: World): Endpoint[] {
  const listed = Object.entries(world.spec.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  const all = [...new Set([...listed, ...UNLISTED])].filter((r) => !r.includes("/__dev"));
  const bodies = templates(world);
  for (let i = 4; i <= 8; i++) world.site.chain.usage({ session: `fresh-${i}` });
  const batchBodies = fc.oneof(garbageBody, mutatedBatch(world.site), mutatedBatch(world.site));
  return all.map((route): Endpoint => {
    const [method, path] = route.split(" ") as [string, string];
    const kind = authKind(path);
    const hasBody = method === "POST" || method === "PUT" || method === "PATCH";
    const template = bodies[route];
    // A write that takes no body (enrollments, revoke) or a DELETE is only sent with a wrong id or
    // credentials: with the right ones it would rightly act, whatever the body says.
    const bodyless = !template && hasBody && !["batches", "bundles", "doc"].some((s) => path.endsWith(s)) && !listedBody(world, route);
    const ownAllowed = !(bodyless || method === "DELETE");
    let body: fc.Arbitrary<{ body: string | Uint8Array | undefined; defect: string }>;
    if (path.endsWith("/batches")) body = batchBodies;
    else if (path.endsWith("/bundles")) body = fc.oneof(garbageBody, batchBodies.map((b) => ({ body: `{"format":"tally-bundle/v1","collector_id":"${world.site.collectorId}","batches":[${typeof b.body === "string" ? b.body : "1"}]}`, defect: `bundle of ${b.defect}` })));
    else if (path.endsWith("/doc")) body = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((b) => ({ body: b, defect: "random bytes" })), garbageBody);
    // Garbage that is a valid body of an all-optional schema ({} for api-keys) would rightly be accepted.
    else if (template) body = fc.oneof({ weight: 3, arbitrary: wrongBody(template) }, garbageBody.filter((g) => template.required.length > 0 || !isObjectOfKnownKeys(g.body, template)));
    else if (hasBody) body = fc.oneof(garbageBody, fc.constant({ body: undefined, defect: "no body" }));
    else body = fc.oneof({ weight: 4, arbitrary: fc.constant({ body: undefined, defect: "no body" }) }, garbageBody);
    const ids = path.includes("{") ? idsFor(world, path, ownAllowed) : fc.constant<[string, string]>(["", ""]);
    const cases = fc.record({ ids, auth: auths(world, kind), body, headers: headerNoise, query: method === "GET" ? query : fc.constant("") })
      .map(({ ids: [idLabel, id], auth: [authLabel, token], body: b, headers: h, query: q }): FuzzRequest => {
        const resolved = path.replace("{id}", id).replace("{token}", id).replace("{cid}", world.site.collectorId) + q;
        const headers: Record<string, string> = {};
        if (token !== undefined) headers.Authorization = `Bearer ${token}`;
        const type = path.endsWith("/doc") && h.contentType === "application/json" ? "application/octet-stream" : h.contentType;
        if (type) headers["Content-Type"] = type;
        if (h.encoding) headers["Content-Encoding"] = h.encoding;
        if (h.idempotency) headers["Idempotency-Key"] = h.idempotency;
        // With GET the body is dropped by fetch; keep the case for its path, query and headers.
        return { method, path: resolved, headers, ...(b.body !== undefined && hasBody ? { body: b.body } : {}), label: [idLabel, `auth: ${authLabel}`, b.defect, q, h.encoding && `encoding ${h.encoding}`, type].filter(Boolean).join("; ") };
      })
      // Another vendor's id with that vendor's own key is a legitimate request, not a wrong one.
      .filter((r) => method === "GET" || !(r.label.startsWith("other vendor's id") && r.label.includes("auth: other vendor")))
      // Likewise the other vendor's customer in a body sent with that vendor's key (SEED=37135651).
      .filter((r) => !(r.label.includes("auth: other vendor") && typeof r.body === "string" && r.body.includes(world.strangerCustomerId)))
      .filter((r) => ownAllowed || !r.label.includes("auth: valid") || !r.label.startsWith("own id"));
    const weight = path.endsWith("/batches") ? 4 : template || path.endsWith("/bundles") ? 2 : 1;
    return { name: route, weight, cases };
  });
}

function listedBody(world: World, route: string): boolean {
  const [method, path] = route.split(" ") as [string, string];
  const op = world.spec.paths[path]?.[method.toLowerCase()] as { requestBody?: unknown } | undefined;
  return op?.requestBody !== undefined;
}

function isObjectOfKnownKeys(body: string | Uint8Array, template: Template): boolean {
  if (typeof body !== "string") return false;
  try {
    // The runtime's text decoding drops a leading BOM, so "\ufeff{}" is {} to the edge.
    const value = JSON.parse(body.replace(/^\ufeff/, "")) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).every((k) => k in template.body);
  } catch { return false; }
}
