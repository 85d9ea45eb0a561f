// Status links (DESIGN.md §7, the customer face): a revocable capability URL showing one
// contract's remaining units, this period's usage and each site's last sync — as JSON or a
// small HTML page — and nothing else.
import { describe, it, expect } from "vitest";
import { env } from "cloudflare:test";
import { sha256Hex } from "../../shared/protocol/index.ts";
import { prefersJson } from "../../worker/content-negotiation.ts";
import { renderStatusPage } from "../../worker/pages/status-page.ts";
import type { CustomerStatus } from "../../worker/customer-status.ts";
import { call, enrolledSite, HOUR, NOW, ok, postBatch, type Site } from "./edge-fixture.ts";

const JSON_ACCEPT = { Accept: "application/json" };
const BROWSER_ACCEPT = { Accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" };

async function siteWithUsage(): Promise<Site> {
  const site = await enrolledSite();
  site.chain.usage({ count: 2 });
  site.chain.usage({ feature: "Simulink", user: "grace", host: "ws-99" });
  await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
  return site;
}

async function createLink(site: Site, body: unknown = { name: "for the plant manager" }) {
  return ok(await call("POST", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key, body }), 201);
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

describe("creating and revoking status links", () => {
  it("answers the full URL on the request's origin with an unguessable token, stored only hashed", async () => {
    const site = await enrolledSite();
    const link = await createLink(site);
    expect(link).toEqual({
      id: expect.stringMatching(/^stl_[0-9a-f]{32}$/), contract_id: site.contractId, name: "for the plant manager",
      created_at: "2026-11-27T10:00:00Z", revoked_at: null,
      token: expect.stringMatching(/^ts_test_[A-Za-z0-9_-]{43}$/), url: `http://edge.test/status/${link.token}`,
    });
    const row = await env.DB.prepare("SELECT * FROM status_links WHERE id = ?").bind(link.id).first();
    expect(row!.token_hash).toBe(sha256Hex(new TextEncoder().encode(link.token)));
    expect(JSON.stringify(row)).not.toContain(link.token);
    const list = await ok(await call("GET", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key }));
    expect(list).toEqual({ items: [{ id: link.id, contract_id: site.contractId, name: "for the plant manager", created_at: "2026-11-27T10:00:00Z", revoked_at: null }], next_cursor: null });
  });

  it("a revoked link answers 404 at once, as JSON or as a page; revoking again changes nothing", async () => {
    const site = await enrolledSite();
    const link = await createLink(site);
    expect((await call("GET", pathOf(link.url), { headers: JSON_ACCEPT })).status).toBe(200);
    const revoked = await ok(await call("DELETE", `/v1/status-links/${link.id}`, { token: site.vendor.api_key, now: NOW + 60_000 }));
    expect(revoked.revoked_at).toBe("2026-11-27T10:01:00Z");
    const json = await call("GET", pathOf(link.url), { headers: JSON_ACCEPT });
    expect({ status: json.status, body: await json.json(), cache: json.headers.get("Cache-Control") })
      .toEqual({ status: 404, body: { error: "not_found", message: "no such status link" }, cache: "no-store" });
    const page = await call("GET", pathOf(link.url), { headers: BROWSER_ACCEPT });
    expect({ status: page.status, type: page.headers.get("Content-Type") }).toEqual({ status: 404, type: "text/html; charset=utf-8" });
    expect(await page.text()).toContain("Status link not found");
    expect(await ok(await call("DELETE", `/v1/status-links/${link.id}`, { token: site.vendor.api_key, now: NOW + 120_000 }))).toEqual(revoked);
  });

  it("a token that was never issued, or is not even token-shaped, is the same 404", async () => {
    for (const path of ["/status/ts_test_" + "A".repeat(43), "/status/nope"]) {
      const res = await call("GET", path, { headers: JSON_ACCEPT });
      expect({ status: res.status, body: await res.json() }).toEqual({ status: 404, body: { error: "not_found", message: "no such status link" } });
    }
  });

  it("Idempotency-Key replays the same link and token", async () => {
    const site = await enrolledSite();
    const post = (name: string) => call("POST", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key, body: { name }, headers: { "Idempotency-Key": "k1" } });
    const first = await ok(await post("a"), 201);
    expect(await ok(await post("a"), 201)).toEqual(first);
    expect((await post("b")).status).toBe(409);
    expect((await ok(await call("GET", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key }))).items).toHaveLength(1);
  });
});

describe("GET /status/:token", () => {
  it("as JSON: remaining and granted units, usage by feature in units, sites with last sync and staleness", async () => {
    const site = await siteWithUsage();
    await ok(await call("POST", `/v1/contracts/${site.contractId}/grants`, { token: site.vendor.api_key, body: { amount: "100", idempotency_key: "g1" } }), 201);
    const link = await createLink(site);
    const res = await call("GET", pathOf(link.url), { headers: JSON_ACCEPT });
    expect(res.headers.get("Cache-Control")).toBe("public, max-age=5");
    expect(await ok(res)).toEqual({
      as_of: "2026-11-27T10:00:00Z", unit_name: "token", remaining_units: "97.5", granted_units: "100", status: "ok",
      period: { start: "2026-10-31T23:00:00Z", end: "2026-11-30T23:00:00Z", start_date: "2026-11-01" },
      usage: { license_seconds: 10800, units: "2.5", by_feature: [
        { feature: "MATLAB", license_seconds: 7200, units: "2", draws: 0 }, { feature: "Simulink", license_seconds: 3600, units: "0.5", draws: 0 }] },
      stale: false,
      sites: [{ site: "plant-7", last_sync: "2026-11-27T10:00:00Z", stale: false }],
      enforcement: [],
    });
    const page = await (await call("GET", pathOf(link.url))).text();
    expect(page).toContain(`<meter id="remaining" min="0" max="100" value="97.5">97.5 of 100</meter>`);
  });

  it("without a grant there is no remaining balance: null in JSON, \"No prepaid balance\" on the page", async () => {
    const site = await siteWithUsage();
    const link = await createLink(site);
    const json = await ok(await call("GET", pathOf(link.url), { headers: JSON_ACCEPT }));
    expect({ remaining: json.remaining_units, granted: json.granted_units, status: json.status }).toEqual({ remaining: null, granted: "0", status: "blocked" });
    const page = await (await call("GET", pathOf(link.url), { headers: BROWSER_ACCEPT })).text();
    expect(page).toContain("<p>No prepaid balance.</p>");
    expect(page).toContain(`<p>Status: <span class="bad">blocked</span></p>`);
    expect(page).not.toContain("<meter");
  });

  it("reveals nothing beyond its contract: no vendor, customer, contract or collector ids, no user or host names", async () => {
    const site = await siteWithUsage();
    const link = await createLink(site);
    const customerId = (await ok(await call("GET", `/v1/contracts/${site.contractId}`, { token: site.vendor.api_key }))).customer_id;
    for (const headers of [JSON_ACCEPT, BROWSER_ACCEPT]) {
      const text = await (await call("GET", pathOf(link.url), { headers })).text();
      for (const secret of [site.vendor.id, customerId, site.contractId, site.collectorId, link.id, "ada", "grace", "ws-01", "ws-99", "for the plant manager"]) {
        expect(text).not.toContain(secret);
      }
    }
  });

  it("as a page: usage in a table, sites with their state, no script, cacheable for a few seconds", async () => {
    const site = await siteWithUsage();
    const link = await createLink(site);
    const res = await call("GET", pathOf(link.url), { headers: BROWSER_ACCEPT, now: NOW + 48 * HOUR + 1000 });
    expect({ status: res.status, type: res.headers.get("Content-Type"), cache: res.headers.get("Cache-Control"), vary: res.headers.get("Vary") })
      .toEqual({ status: 200, type: "text/html; charset=utf-8", cache: "public, max-age=5", vary: "Accept" });
    expect(res.headers.get("Content-Security-Policy")).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html><html lang="en">/);
    expect(html).toContain(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
    expect(html).toContain(`<tr><th scope="row">MATLAB</th><td class="num">2 h 00 min</td><td class="num">2</td></tr>`);
    expect(html).toContain(`<tfoot><tr><th scope="row">Total</th><td class="num">3 h 00 min</td><td class="num">2.5</td></tr></tfoot>`);
    expect(html).toContain(`<tr><th scope="row">plant-7</th><td><time datetime="2026-11-27T10:00:00Z">2026-11-27 10:00 UTC</time></td><td><span class="bad">Out of date: no recent sync</span></td></tr>`);
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it("a prepaid balance is a labelled meter with the figures also written as text", () => {
    const status: CustomerStatus = {
      as_of: "2026-11-27T10:00:00Z", unit_name: "token", remaining_units: "87.5", granted_units: "100", status: "ok",
      period: { start: "2026-10-31T23:00:00Z", end: "2026-11-30T23:00:00Z", start_date: "2026-11-01" },
      usage: { license_seconds: 45000, units: "12.5", by_feature: [{ feature: "MATLAB", license_seconds: 45000, units: "12.5", draws: 0 }] },
      stale: false, sites: [], enforcement: [],
    };
    const html = renderStatusPage(status);
    expect(html).not.toContain("License blocks at your sites");
    const blocked = renderStatusPage({ ...status, enforcement: [{ site: "plant-7", action: "block", features: ["MATLAB", "Simulink"], at: "2026-11-27T10:00:00Z", result: "reread_failed" }] });
    expect(blocked).toContain(`<tr><th scope="row">plant-7</th><td><time datetime="2026-11-27T10:00:00Z">2026-11-27 10:00 UTC</time></td><td><span class="bad">Blocked</span></td><td>MATLAB, Simulink</td><td><span class="bad">reread failed</span></td></tr>`);
    expect(html).toContain(`<label for="remaining"><strong>87.5</strong> of 100 tokens remaining</label>`);
    expect(html).toContain(`<meter id="remaining" min="0" max="100" value="87.5">87.5 of 100</meter>`);
    expect(html).toContain(`<tr><th scope="row">MATLAB</th><td class="num">12 h 30 min</td><td class="num">12.5</td></tr>`);
    expect(html).toContain("No site has been set up yet.");
    expect(renderStatusPage({ ...status, remaining_units: "0", status: "exhausted" })).toContain(`<p>Status: <span class="bad">exhausted</span></p>`);
    const unpriced = renderStatusPage({ ...status, remaining_units: null, granted_units: null, status: null, usage: { ...status.usage, units: null, by_feature: [{ feature: "MATLAB", license_seconds: 45000, units: null, draws: 0 }] } });
    expect(unpriced).toContain(`<tr><th scope="row">MATLAB</th><td class="num">12 h 30 min</td></tr>`);
    // A plan selling draws (daily windows here) shows how many, beside the license time and units.
    const drawn = renderStatusPage({ ...status, usage: { ...status.usage, units: "14", by_feature: [{ feature: "CAD", license_seconds: 45000, units: "14", draws: 2 }] } });
    expect(drawn).toContain(`<th scope="col" class="num">Draws</th>`);
    expect(drawn).toContain(`<tr><th scope="row">CAD</th><td class="num">12 h 30 min</td><td class="num">2</td><td class="num">14</td></tr>`);
    expect(html).not.toContain("Draws");
    expect(unpriced).toContain("No prepaid balance");
  });

  it("JSON only when Accept ranks it above HTML", () => {
    expect(prefersJson("application/json")).toBe(true);
    expect(prefersJson("application/json, text/html;q=0.5")).toBe(true);
    expect(prefersJson("application/*")).toBe(true);
    expect(prefersJson(BROWSER_ACCEPT.Accept)).toBe(false);
    expect(prefersJson("text/html, application/json")).toBe(false);
    expect(prefersJson("*/*")).toBe(false);
    expect(prefersJson(undefined)).toBe(false);
  });
});
