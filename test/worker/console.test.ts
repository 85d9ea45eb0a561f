// The vendor console (worker/console/) inside workerd with real D1 and Durable Objects: signing in
// keeps only hashes server-side, every POST is checked for Origin and the session's CSRF token,
// the pages show only the signed-in vendor's contracts, and the forms act through the API.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call as apiCall, createContract, createVendor, NOW, ok, type CallOptions, type Vendor } from "./edge-fixture.ts";

/** Like the fixture's call, but redirects are answers to look at, not to follow. */
function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  if (options.token || options.body !== undefined) return apiCall(method, path, options);
  return SELF.fetch(`http://edge.test${path}`, { method, body: options.raw, redirect: "manual", headers: { "X-Tally-Now": String(NOW), ...options.headers } });
}

const ORIGIN = "http://edge.test";
/** A complete token plan (DESIGN §6), valid however strictly the edge checks plans. */
const tokenPlan = {
  model: "token", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" },
  price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.10" }] }, overage: { policy: "allow" },
};
const newContract = (vendor: Vendor) => createContract(vendor, { plan: tokenPlan });

async function signIn(apiKey: string): Promise<string> {
  const res = await call("POST", "/console/sign-in", { raw: new URLSearchParams({ api_key: apiKey }), headers: { Origin: ORIGIN, "Content-Type": "application/x-www-form-urlencoded" } });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("Set-Cookie") ?? "";
  return cookie.split(";")[0]!;
}

function page(path: string, cookie: string): Promise<Response> {
  return call("GET", path, { headers: { Cookie: cookie } });
}

function post(path: string, cookie: string, fields: Record<string, string>, origin: string | null = ORIGIN): Promise<Response> {
  const headers: Record<string, string> = { Cookie: cookie, "Content-Type": "application/x-www-form-urlencoded" };
  if (origin !== null) headers.Origin = origin;
  return call("POST", path, { raw: new URLSearchParams(fields), headers });
}

async function csrfOf(cookie: string): Promise<string> {
  const html = await (await page("/console", cookie)).text();
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

async function enrollmentCount(contractId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM enrollments WHERE contract_id = ?").bind(contractId).first<{ n: number }>();
  return row!.n;
}

describe("console sign-in", () => {
  it("a page without a session redirects to the sign-in page", async () => {
    const res = await call("GET", "/console");
    expect(res.status).toBe(303);
    expect(res.headers.get("Location")).toBe("/console/sign-in");
  });

  it("an unknown key is refused with 401 and no session is stored", async () => {
    const before = await env.DB.prepare("SELECT count(*) AS n FROM console_sessions").first<{ n: number }>();
    const res = await call("POST", "/console/sign-in", { raw: new URLSearchParams({ api_key: "tk_test_nope" }), headers: { Origin: ORIGIN, "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain("unknown or revoked");
    const after = await env.DB.prepare("SELECT count(*) AS n FROM console_sessions").first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
  });

  it("signing in sets an HttpOnly, SameSite=Strict cookie on /console, and D1 keeps only hashes", async () => {
    const vendor = await createVendor();
    const res = await call("POST", "/console/sign-in", { raw: new URLSearchParams({ api_key: vendor.api_key }), headers: { Origin: ORIGIN, "Content-Type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(303);
    const cookie = res.headers.get("Set-Cookie")!;
    expect(cookie).toMatch(/^tally_console=cs_[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/console; HttpOnly; SameSite=Strict$/);
    const secret = cookie.split(";")[0]!.split("=")[1]!;
    const rows = await env.DB.prepare("SELECT * FROM console_sessions WHERE vendor_id = ?").bind(vendor.id).all<Record<string, unknown>>();
    expect(rows.results).toHaveLength(1);
    const stored = JSON.stringify(rows.results);
    expect(stored).not.toContain(vendor.api_key);
    expect(stored).not.toContain(secret);
  });

  it("over https the cookie is also Secure", async () => {
    const vendor = await createVendor();
    const secure = await SELF.fetch("https://edge.test/console/sign-in", {
      method: "POST", body: new URLSearchParams({ api_key: vendor.api_key }), redirect: "manual",
      headers: { Origin: "https://edge.test", "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(secure.status).toBe(303);
    expect(secure.headers.get("Set-Cookie")).toMatch(/; Path=\/console; HttpOnly; Secure; SameSite=Strict$/);
  });

  it("signing out deletes the session: the old cookie no longer opens a page", async () => {
    const vendor = await createVendor();
    const cookie = await signIn(vendor.api_key);
    expect((await page("/console", cookie)).status).toBe(200);
    const out = await post("/console/sign-out", cookie, { csrf: await csrfOf(cookie) });
    expect(out.status).toBe(303);
    expect(out.headers.get("Set-Cookie")).toMatch(/^tally_console=; Max-Age=0; Path=\/console/);
    expect((await page("/console", cookie)).status).toBe(303);
  });

  it("revoking the API key ends the sessions opened with it", async () => {
    const vendor = await createVendor();
    const second = await ok<{ id: string; api_key: string }>(await call("POST", "/v1/api-keys", { token: vendor.api_key, body: { name: "console" } }), 201);
    const cookie = await signIn(second.api_key);
    expect((await page("/console", cookie)).status).toBe(200);
    await ok(await call("DELETE", `/v1/api-keys/${second.id}`, { token: vendor.api_key }));
    expect((await page("/console", cookie)).status).toBe(303);
  });
});

describe("console forms are CSRF-safe", () => {
  async function setup(): Promise<{ vendor: Vendor; contractId: string; cookie: string; csrf: string }> {
    const vendor = await createVendor();
    const contract = await newContract(vendor);
    const cookie = await signIn(vendor.api_key);
    return { vendor, contractId: contract.id, cookie, csrf: await csrfOf(cookie) };
  }

  it("a POST with the right token but without Origin, or from another origin, is refused and changes nothing", async () => {
    const { contractId, cookie, csrf } = await setup();
    for (const origin of [null, "https://evil.example"]) {
      const res = await post(`/console/contracts/${contractId}/enrollments`, cookie, { csrf }, origin);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("Origin check");
    }
    expect(await enrollmentCount(contractId)).toBe(0);
  });

  it("a POST from our origin without the session's token, or with another session's, is refused and changes nothing", async () => {
    const { contractId, cookie } = await setup();
    const other = await setup();
    for (const fields of [{}, { csrf: "" }, { csrf: other.csrf }] as Array<Record<string, string>>) {
      const res = await post(`/console/contracts/${contractId}/enrollments`, cookie, fields);
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("CSRF check");
    }
    expect(await enrollmentCount(contractId)).toBe(0);
  });

  it("with Origin and token, enrolling a site shows a working one-time token", async () => {
    const { contractId, cookie, csrf } = await setup();
    const res = await post(`/console/contracts/${contractId}/enrollments`, cookie, { csrf });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    const token = /id="enrollment-token">([^<]+)</.exec(await res.text())![1]!;
    expect(await enrollmentCount(contractId)).toBe(1);
    const enrolled = await call("POST", "/v1/enroll", { body: { enrollment_token: token, public_key: "ab".repeat(32), site: "plant-9" } });
    expect(enrolled.status).toBe(201);
  });
});

describe("console pages follow the API's tenancy", () => {
  it("the list shows the vendor's own contracts only, and another vendor's contract page is a 404", async () => {
    const mine = await createVendor("Mine");
    const theirs = await createVendor("Theirs");
    const a = await newContract(mine);
    const b = await newContract(theirs);
    const cookie = await signIn(mine.api_key);
    const list = await (await page("/console", cookie)).text();
    expect(list).toContain(`/console/contracts/${a.id}`);
    expect(list).not.toContain(b.id);
    const foreign = await page(`/console/contracts/${b.id}`, cookie);
    expect(foreign.status).toBe(404);
    expect(await foreign.text()).not.toContain(b.customer_id);
    const own = await page(`/console/contracts/${a.id}`, cookie);
    expect(own.status).toBe(200);
    expect(own.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
  });

  it("the list pages through a vendor's contracts (each row costs a call to its Durable Object): every contract once, and a bad limit is refused", async () => {
    const vendor = await createVendor("Many");
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) ids.add((await newContract(vendor)).id);
    const cookie = await signIn(vendor.api_key);
    const shown = (html: string) => [...html.matchAll(/href="\/console\/contracts\/(ctr_[^"]+)"/g)].map((m) => m[1]!);
    const first = await (await page("/console?limit=2", cookie)).text();
    expect(shown(first)).toHaveLength(2);
    expect(first).toContain("2 contracts on this page, most urgent first within it");
    const next = /href="(\/console\?limit=2&amp;after=[^"]+)"/.exec(first)![1]!.replaceAll("&amp;", "&");
    const second = await (await page(next, cookie)).text();
    expect(shown(second)).toHaveLength(1);
    expect(second).toContain('href="/console?limit=2">First page</a>');
    expect(second).not.toContain("after=");
    expect(new Set([...shown(first), ...shown(second)])).toEqual(ids);
    // One page holds them all: no paging shown.
    const whole = await (await page("/console", cookie)).text();
    expect(new Set(shown(whole))).toEqual(ids);
    expect(whole).not.toContain("Pages of contracts");
    for (const bad of ["limit=0", "limit=301", "limit=two", "after=cus_not-a-contract"]) expect((await page(`/console?${bad}`, cookie)).status, bad).toBe(422);
  });

  it("a read-only key can read but its forms answer the API's read_only_key, and nothing is created", async () => {
    const vendor = await createVendor();
    const contract = await newContract(vendor);
    const reader = await ok<{ api_key: string }>(await call("POST", "/v1/api-keys", { token: vendor.api_key, body: { name: "reader", read_only: true } }), 201);
    const cookie = await signIn(reader.api_key);
    expect((await page(`/console/contracts/${contract.id}`, cookie)).status).toBe(200);
    const res = await post(`/console/contracts/${contract.id}/enrollments`, cookie, { csrf: await csrfOf(cookie) });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("read_only_key");
    expect(await enrollmentCount(contract.id)).toBe(0);
  });
});
