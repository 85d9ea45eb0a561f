// Every webhook event of DESIGN.md §7 — balance.low, balance.exhausted, site.stale,
// collector.equivocation, grant.expiring, period.closed — created once per crossing in the DO's
// events table and delivered at least once, each delivery signed with the edge key (verified here)
// and carrying its stable event_id. Deliveries go to the edge's own dev webhook sink; the clock is
// injected per request (X-Tally-Now), as the checks run on requests outside production.
import { describe, it, expect } from "vitest";
import { env, runInDurableObject } from "cloudflare:test";
import { verifyWebhook } from "../../shared/protocol/index.ts";
import worker from "../../worker/index.ts";
import { isNonPublicAddress, webhookTargetRefusal } from "../../worker/contract/webhook-target.ts";
import { sendWebhook } from "../../worker/contract/webhook-transport.ts";
import { GRANT_EXPIRING_LEAD_MS } from "../../worker/contract/notices.ts";
import { call, contractStub, ok, settle, SiteChain } from "./edge-fixture.ts";
import { appendUsage, grant, HOUR, NOW, planOf, PRICE, pricedContract, send, type PricedContract } from "./pricing-fixture.ts";

const DAY = 24 * HOUR;

interface Delivery { event_id: string; signature: string; body: string; status: number }

async function deliveries(name: string): Promise<Delivery[]> {
  if (!await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE name = 'dev_webhook_deliveries'").first()) return [];
  return (await env.DB.prepare("SELECT event_id, signature, body, status FROM dev_webhook_deliveries WHERE name = ? ORDER BY id").bind(name).all<Delivery>()).results;
}

/** The events delivered to `sink`, after checking every delivery's signature and event_id. */
async function delivered(sink: string): Promise<any[]> {
  const key = (await ok(await call("GET", "/v1/keys"))).keys[0];
  const all = await deliveries(sink);
  for (const d of all) {
    const m = /^t=(\d+),key_id=(edk_[0-9a-f]+),sig=([0-9a-f]{128})$/.exec(d.signature);
    expect(m, d.signature).not.toBeNull();
    expect({ key_id: m![2], valid: verifyWebhook(Number(m![1]), d.body, m![3]!, key.public_key) }).toEqual({ key_id: key.key_id, valid: true });
    expect(JSON.parse(d.body).event_id).toBe(d.event_id);
  }
  // At least once, and here exactly once: the sink accepted each event the first time.
  expect(new Set(all.map((d) => d.event_id)).size).toBe(all.length);
  return all.map((d) => JSON.parse(d.body));
}

async function withWebhook(c: PricedContract, sink: string, now = NOW): Promise<void> {
  await ok(await call("PUT", `/v1/contracts/${c.id}/alerts`, { token: c.vendor.api_key, body: { webhook_url: `http://sink.test/__dev/webhook-sink/${sink}` }, now }));
}

async function balanceAt(c: PricedContract, now: number): Promise<any> {
  return ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key, now }));
}

function contractWithSync(expected_sync_s: number, sites: number): Promise<PricedContract> {
  return pricedContract(planOf("pay_per_use", { price: PRICE }), { sites, expected_sync_s });
}

describe("webhook events", () => {
  it("site.stale: once when a site's last sync gets older than 2 × expected_sync_s, re-armed by its next sync", async () => {
    const c = await contractWithSync(3600, 2);
    await withWebhook(c, "stale");
    const [one, two] = c.sites as [typeof c.sites[0], typeof c.sites[0]];
    appendUsage(one, { session: "a", start: NOW - 3 * HOUR, end: NOW - 2 * HOUR });
    await send(c, one, NOW);
    await balanceAt(c, NOW + 2 * HOUR); // exactly 2 × expected: not stale yet
    await balanceAt(c, NOW + 2 * HOUR + 1000);
    await balanceAt(c, NOW + 3 * HOUR); // still stale: nothing new
    await settle(c.id);
    // Site two never synced: it counts from its enrollment, at the same instant.
    const first = await delivered("stale");
    expect(first.map((e) => [e.type, e.data.collector_id, e.data.last_sync, e.data.stale_since]).sort()).toEqual([
      ["site.stale", one.id, "2026-11-27T10:00:00Z", "2026-11-27T12:00:00Z"],
      ["site.stale", two.id, null, "2026-11-27T12:00:00Z"],
    ].sort());
    // Site one syncs again at +4 h: re-armed; stale again 2 h later, once.
    appendUsage(one, { session: "b", start: NOW + 2 * HOUR, end: NOW + 3 * HOUR });
    await send(c, one, NOW + 4 * HOUR);
    await balanceAt(c, NOW + 5 * HOUR);
    await balanceAt(c, NOW + 6 * HOUR + 1000);
    await balanceAt(c, NOW + 7 * HOUR);
    await settle(c.id);
    const again = (await delivered("stale")).slice(2);
    expect(again.map((e) => [e.type, e.data.collector_id, e.data.last_sync])).toEqual([["site.stale", one.id, "2026-11-27T14:00:00Z"]]);
  });

  it("a revoked site never goes stale: no site.stale, and neither the balance, the site list nor the status page call it late", async () => {
    const c = await contractWithSync(3600, 2);
    await withWebhook(c, "revoked");
    const link = await ok(await call("POST", `/v1/contracts/${c.id}/status-links`, { token: c.vendor.api_key, body: {} }), 201);
    await ok(await call("POST", `/v1/collectors/${c.sites[0]!.id}/revoke`, { token: c.vendor.api_key }));
    const later = NOW + 10 * HOUR;
    appendUsage(c.sites[1]!, { session: "fresh", start: later - 2 * HOUR, end: later - HOUR }, later);
    await send(c, c.sites[1]!, later); // the other site is up to date
    const balance = await balanceAt(c, later);
    await settle(c.id);
    expect(await delivered("revoked")).toEqual([]);
    expect({ stale: balance.stale, sites: balance.collectors.map((s: any) => [s.site, s.stale, s.flags]) })
      .toEqual({ stale: false, sites: expect.arrayContaining([["site-1", false, ["revoked"]], ["site-2", false, []]]) });
    const listed = await ok(await call("GET", `/v1/contracts/${c.id}/collectors`, { token: c.vendor.api_key, now: later }));
    expect(listed.items.map((s: any) => [s.site, s.stale])).toEqual(expect.arrayContaining([["site-1", false], ["site-2", false]]));
    const page = await ok(await call("GET", new URL(link.url).pathname, { headers: { accept: "application/json" }, now: later }));
    expect({ stale: page.stale, sites: page.sites.map((s: any) => [s.site, s.stale]) }).toEqual({ stale: false, sites: [["site-1", false], ["site-2", false]] });
  });

  it("grant.expiring: once per grant, 7 days before expires_at (at once for a grant created inside that week, never for one already expired)", async () => {
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" } }));
    await withWebhook(c, "expiring");
    expect(GRANT_EXPIRING_LEAD_MS).toBe(7 * DAY);
    const later = await grant(c, { amount: "10", idempotency_key: "g-later", expires_at: new Date(NOW + 10 * DAY).toISOString() });
    const soon = await grant(c, { amount: "5", idempotency_key: "g-soon", expires_at: new Date(NOW + 2 * DAY).toISOString() });
    await grant(c, { amount: "5", idempotency_key: "g-open" });
    appendUsage(c.sites[0]!, { session: "u", start: NOW - 5 * HOUR, end: NOW - 3 * HOUR });
    await send(c, c.sites[0]!, NOW);
    await balanceAt(c, NOW + 3 * DAY - 1000); // the later grant: not yet inside its week
    await settle(c.id);
    const expiring = async () => (await delivered("expiring")).filter((e) => e.type === "grant.expiring"); // the idle site goes stale too
    expect((await expiring()).map((e) => [e.type, e.data.grant_id])).toEqual([["grant.expiring", soon.id]]);
    await balanceAt(c, NOW + 3 * DAY);
    await balanceAt(c, NOW + 4 * DAY);
    await balanceAt(c, NOW + 11 * DAY);
    await settle(c.id);
    const events = await expiring();
    expect(events.map((e) => [e.type, e.data.grant_id, e.data.amount, e.data.expires_at])).toEqual([
      ["grant.expiring", soon.id, "5", "2026-11-29T10:00:00Z"], ["grant.expiring", later.id, "10", "2026-12-07T10:00:00Z"],
    ]);
    expect(typeof events[1].data.remaining).toBe("string");
    await grant(c, { amount: "1", idempotency_key: "g-gone", effective_at: new Date(NOW - 9 * DAY).toISOString(), expires_at: new Date(NOW - DAY).toISOString() });
    await balanceAt(c, NOW + 12 * DAY);
    await settle(c.id);
    expect(await expiring()).toHaveLength(2);
  });

  it("collector.equivocation: created with the evidence in the rejected batch's only write, once until resolved", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    await withWebhook(c, "fork");
    const site = c.sites[0]!;
    appendUsage(site, { session: "a", start: NOW - 3 * HOUR, end: NOW - 2 * HOUR });
    await send(c, site);
    await settle(c.id);
    const forked = new SiteChain(site.id, site.chain.secretKey);
    forked.usage({ count: 3 });
    expect((await call("POST", `/v1/collectors/${site.id}/batches`, { body: forked.batch(1, 1) })).status).toBe(409);
    const stored = await runInDurableObject(contractStub(c.id), (_i, state) => ({
      events: state.storage.sql.exec("SELECT type FROM events").toArray(),
      evidence: state.storage.sql.exec("SELECT seq FROM evidence").toArray(),
    }));
    expect(stored).toEqual({ events: [{ type: "collector.equivocation" }], evidence: [{ seq: 1 }] });
    expect((await call("POST", `/v1/collectors/${site.id}/batches`, { body: forked.batch(1, 1) })).status).toBe(409); // flagged already
    await settle(c.id);
    const events = await delivered("fork");
    expect(events.map((e) => [e.type, e.data.collector_id, e.data.seq, e.data.stored_hash.length, e.data.received_hash.length])).toEqual([
      ["collector.equivocation", site.id, 1, 64, 64],
    ]);
    // Resolved, then forked again: a new crossing, a new event.
    await ok(await call("POST", `/v1/collectors/${site.id}/resolve`, { token: c.vendor.api_key, body: { last_common_seq: 0 } }));
    await ok(await call("POST", `/v1/collectors/${site.id}/batches`, { body: forked.batch(1, 1) }));
    expect((await call("POST", `/v1/collectors/${site.id}/batches`, { body: site.chain.batch(1, 1) })).status).toBe(409);
    await settle(c.id);
    expect((await delivered("fork")).map((e) => e.type)).toEqual(["collector.equivocation", "collector.equivocation"]);
  });

  it("all six kinds on one contract: each crossing delivered once, signed, with a stable event_id", async () => {
    const oct20 = Date.UTC(2026, 9, 20, 12);
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" }, rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 } }), { start: "2026-10-01", grace_h: 24, now: oct20 });
    await withWebhook(c, "all", oct20);
    await grant(c, { amount: "10", idempotency_key: "g", expires_at: new Date(Date.UTC(2026, 9, 25)).toISOString() }, oct20);
    const site = c.sites[0]!;
    appendUsage(site, { session: "a", start: Date.UTC(2026, 9, 19, 8), end: Date.UTC(2026, 9, 19, 17) }, oct20); // 9 of 10 units: low 20 and 10
    await send(c, site, oct20);
    appendUsage(site, { session: "b", start: Date.UTC(2026, 9, 20, 8), end: Date.UTC(2026, 9, 20, 10) }, oct20); // exhausted
    await send(c, site, oct20);
    await balanceAt(c, NOW); // Nov 27: the site is stale, October closed, the grant's expiry week passed
    const forked = new SiteChain(site.id, site.chain.secretKey);
    forked.usage({ count: 3 });
    expect((await call("POST", `/v1/collectors/${site.id}/batches`, { body: forked.batch(1, 1) })).status).toBe(409);
    await settle(c.id);
    await balanceAt(c, NOW + HOUR);
    await settle(c.id);
    const types = (await delivered("all")).map((e) => e.type);
    expect(types.sort()).toEqual(["balance.exhausted", "balance.low", "balance.low", "collector.equivocation", "grant.expiring", "period.closed", "site.stale"]);
  });
});

describe("webhook targets in production", () => {
  it("loopback, private, link-local and other non-public addresses are recognised, in every spelling", () => {
    for (const ip of ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
      "::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "64:ff9b::a00:1", "ff02::1"]) {
      expect(isNonPublicAddress(ip), ip).toBe(true);
    }
    for (const ip of ["93.184.216.34", "1.1.1.1", "172.32.0.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) expect(isNonPublicAddress(ip), ip).toBe(false);
  });

  it("a name is judged by what it resolves to; one that does not resolve is refused", async () => {
    // Stands in for DNS (the network is outside the test); the addresses are what a resolver could answer.
    const dns = new Map([["hooks.example.com", ["93.184.216.34"]], ["rebind.example.com", ["93.184.216.34", "10.0.0.5"]], ["v6.example.com", ["::1"]]]);
    const resolve = async (host: string) => { const a = dns.get(host); if (!a) throw new Error("NXDOMAIN"); return a; };
    expect(await webhookTargetRefusal("https://hooks.example.com/tally", resolve)).toBeNull();
    expect(await webhookTargetRefusal("https://rebind.example.com/", resolve)).toMatch(/resolves to 10\.0\.0\.5/);
    expect(await webhookTargetRefusal("https://v6.example.com/", resolve)).toMatch(/resolves to ::1/);
    expect(await webhookTargetRefusal("https://nope.example.com/", resolve)).toMatch(/could not be resolved/);
    expect(await webhookTargetRefusal("https://0x7f.1/", resolve)).toMatch(/127\.0\.0\.1 is not a public address/);
    expect(await webhookTargetRefusal("https://intranet/", resolve)).toMatch(/not a public DNS name/);
  });

  it("PUT /alerts refuses them in production; development and test keep local sinks", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    const production = { ...env, TALLY_ENV: "production" };
    const put = (url: string) => worker.fetch(new Request(`http://edge.test/v1/contracts/${c.id}/alerts`, {
      method: "PUT", headers: { Authorization: `Bearer ${c.vendor.api_key}`, "Content-Type": "application/json" }, body: JSON.stringify({ webhook_url: url }),
    }), production, {} as ExecutionContext);
    for (const url of ["https://127.0.0.1/hook", "https://[::1]/hook", "https://localhost/hook", "https://10.0.0.8/hook", "https://[::ffff:192.168.0.1]/", "https://169.254.169.254/latest"]) {
      const res = await put(url);
      expect({ url, status: res.status, body: await res.json() }).toMatchObject({ url, status: 422, body: { error: "invalid_request", field: "webhook_url" } });
    }
    expect((await put("https://93.184.216.34/hook")).status).toBe(200);
    expect((await call("PUT", `/v1/contracts/${c.id}/alerts`, { token: c.vendor.api_key, body: { webhook_url: "http://127.0.0.1:9999/hook" } })).status).toBe(200);
  });

  it("a misspelt or missing TALLY_ENV is production for webhook URLs too, as it is for the clock: never half production", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    for (const TALLY_ENV of ["prod", "Production", "", undefined]) {
      const misspelt = { ...env, TALLY_ENV } as typeof env;
      const put = await worker.fetch(new Request(`http://edge.test/v1/contracts/${c.id}/alerts`, {
        method: "PUT", headers: { Authorization: `Bearer ${c.vendor.api_key}`, "Content-Type": "application/json" }, body: JSON.stringify({ webhook_url: "https://10.0.0.8/hook" }),
      }), misspelt, {} as ExecutionContext);
      expect({ TALLY_ENV, status: put.status, body: await put.json() }).toMatchObject({ TALLY_ENV, status: 422, body: { error: "invalid_request", field: "webhook_url" } });
      await expect(sendWebhook(misspelt, "https://127.0.0.1/hook", { method: "POST", body: "{}" })).rejects.toThrow(/webhook URL refused: 127\.0\.0\.1/);
      const clock = await worker.fetch(new Request("http://edge.test/health", { headers: { "X-Tally-Now": "0" } }), misspelt, {} as ExecutionContext);
      expect(clock.status).toBe(400);
    }
  });

  it("a delivery in production re-checks the URL and refuses a private one before connecting", async () => {
    const production = { ...env, TALLY_ENV: "production" };
    await expect(sendWebhook(production, "https://127.0.0.1/hook", { method: "POST", body: "{}" })).rejects.toThrow(/webhook URL refused: 127\.0\.0\.1/);
    await expect(sendWebhook(production, "https://sink.test/__dev/webhook-sink/x", { method: "POST", body: "{}" }, async () => ["10.0.0.1"]))
      .rejects.toThrow(/resolves to 10\.0\.0\.1/);
  });
});
