// Low-balance alerts (DESIGN.md §7 "Webhooks"): one event per threshold crossing, created with the
// change that caused it, delivered by the alarm to the webhook with a valid Ed25519 signature and
// a stable event_id (a failed delivery is retried with the same id and body), re-armed when a
// top-up lifts the balance back. Deliveries go to a route of this same Worker (dev webhook sink).
import { describe, it, expect } from "vitest";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { verifyWebhook } from "../../shared/protocol/index.ts";
import { call, contractStub, ok, settle } from "./edge-fixture.ts";
import { appendUsage, grant, HOUR, NOW, planOf, PRICE, pricedContract, send, type PricedContract } from "./pricing-fixture.ts";

interface Delivery { event_id: string; signature: string; body: string; status: number }

async function deliveries(name: string): Promise<Delivery[]> {
  // The sink creates its table on its first delivery.
  if (!await env.DB.prepare("SELECT 1 FROM sqlite_master WHERE name = 'dev_webhook_deliveries'").first()) return [];
  const rows = await env.DB.prepare("SELECT event_id, signature, body, status FROM dev_webhook_deliveries WHERE name = ? ORDER BY id").bind(name).all<Delivery>();
  return rows.results;
}

async function edgePublicKey(): Promise<{ key_id: string; public_key: string }> {
  return (await ok(await call("GET", "/v1/keys"))).keys[0];
}

/** Uses `hours` license-hours of MATLAB (1 unit each) in one new session, sent now. */
let sessions = 0;
async function use(c: PricedContract, hours: number): Promise<void> {
  const start = Date.UTC(2026, 10, 2) + sessions++ * 24 * HOUR;
  appendUsage(c.sites[0]!, { session: `s${sessions}`, start, end: start + hours * HOUR });
  await send(c, c.sites[0]!);
}

async function alertedContract(sink: string): Promise<PricedContract> {
  const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" }, rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 } }));
  const set = await ok(await call("PUT", `/v1/contracts/${c.id}/alerts`, { token: c.vendor.api_key, body: { webhook_url: `http://sink.test/__dev/webhook-sink/${sink}` } }));
  expect(set).toEqual({ contract_id: c.id, webhook_url: `http://sink.test/__dev/webhook-sink/${sink}`, low_thresholds_pct: [20, 10, 0] });
  return c;
}

describe("low-balance alerts", () => {
  it("fire once per threshold crossed, signed with the edge key, and re-arm when a top-up lifts the balance", async () => {
    const c = await alertedContract("crossings");
    await grant(c, { amount: "10", idempotency_key: "g1" });
    await use(c, 7); // 30 % left: nothing crossed
    await use(c, 1.5); // 15 %: below 20
    await use(c, 0.5); // 10 %: at 10
    await use(c, 0.5); // 5 %: nothing new
    await use(c, 1); // 0 %: exhausted
    await settle(c.id);
    const key = await edgePublicKey();
    const first = await deliveries("crossings");
    const events = first.map((d) => JSON.parse(d.body));
    expect(events.map((e) => [e.type, e.data.threshold_pct, e.data.remaining_units])).toEqual([
      ["balance.low", 20, "1.5"], ["balance.low", 10, "1"], ["balance.exhausted", 0, "0"],
    ]);
    for (const d of first) {
      const m = /^t=(\d+),key_id=(edk_[0-9a-f]+),sig=([0-9a-f]{128})$/.exec(d.signature)!;
      expect({ key_id: m[2], valid: verifyWebhook(Number(m[1]), d.body, m[3]!, key.public_key), tampered: verifyWebhook(Number(m[1]), d.body.replace("balance", "Balance"), m[3]!, key.public_key) })
        .toEqual({ key_id: key.key_id, valid: true, tampered: false });
      expect(JSON.parse(d.body)).toMatchObject({ event_id: d.event_id, contract_id: c.id, created_at: "2026-11-27T10:00:00Z" });
    }
    await settle(c.id);
    expect(await deliveries("crossings")).toHaveLength(3);

    // 10.5 units used so far: a top-up of 10 leaves 9.5 of 20 (47.5 %), every threshold re-armed, no event.
    await grant(c, { amount: "10", idempotency_key: "g2" });
    await use(c, 6); // 3.5 of 20 (17.5 %): below 20 again
    await settle(c.id);
    const after = (await deliveries("crossings")).slice(3).map((d) => JSON.parse(d.body));
    expect(after.map((e) => [e.type, e.data.threshold_pct, e.data.remaining_units, e.data.granted_units])).toEqual([["balance.low", 20, "3.5", "20"]]);
  });

  it("exhausted means what the balance's status says: not while a remainder too small to show (under 10^-6 units) is left", async () => {
    const c = await alertedContract("remainder");
    await grant(c, { amount: "10.000000000001", idempotency_key: "g1" });
    await use(c, 10); // 0.000000000001 left: shown as 0, yet the status is low, not exhausted
    await settle(c.id);
    const balance = await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key }));
    expect([balance.status, balance.remaining_units]).toEqual(["low", "0"]);
    expect((await deliveries("remainder")).map((d) => JSON.parse(d.body)).map((e) => [e.type, e.data.threshold_pct])).toEqual([["balance.low", 20], ["balance.low", 10]]);
    await use(c, 1);
    await settle(c.id);
    expect((await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key }))).status).toBe("exhausted");
    expect((await deliveries("remainder")).slice(2).map((d) => JSON.parse(d.body).type)).toEqual(["balance.exhausted"]);
  });

  it("the balance's low follows the contract's thresholds (the highest), so the balance, the status page and the balance.low event agree", async () => {
    const c = await alertedContract("thresholds");
    const token = c.vendor.api_key;
    const link = await ok(await call("POST", `/v1/contracts/${c.id}/status-links`, { token, body: {} }), 201);
    const status = async () => [
      (await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token }))).status,
      (await ok(await call("GET", new URL(link.url).pathname, { headers: { accept: "application/json" } }))).status,
    ];
    await grant(c, { amount: "10", idempotency_key: "g1" });
    await use(c, 6); // 40 % left: above the default 20
    expect(await status()).toEqual(["ok", "ok"]);
    // Raising the highest threshold to 50 makes 40 % low at once (without an event: it already held)…
    await ok(await call("PUT", `/v1/contracts/${c.id}/alerts`, { token, body: { webhook_url: "http://sink.test/__dev/webhook-sink/thresholds", low_thresholds_pct: [50, 0] } }));
    expect(await status()).toEqual(["low", "low"]);
    // …and a crossing of it announces the status the balance shows.
    await grant(c, { amount: "10", idempotency_key: "g2" }); // 14 of 20 left (70 %)
    await use(c, 5); // 9 of 20 (45 %)
    await settle(c.id);
    expect((await deliveries("thresholds")).map((d) => JSON.parse(d.body)).map((e) => [e.type, e.data.threshold_pct, e.data.status])).toEqual([["balance.low", 50, "low"]]);
    expect(await status()).toEqual(["low", "low"]);
    // Only [0]: nothing is low, only exhausted.
    await ok(await call("PUT", `/v1/contracts/${c.id}/alerts`, { token, body: { webhook_url: "http://sink.test/__dev/webhook-sink/thresholds", low_thresholds_pct: [0] } }));
    await use(c, 8); // 1 of 20 (5 %)
    expect(await status()).toEqual(["ok", "ok"]);
  });

  it("a period's close freezes its statement and sends period.closed with its total", async () => {
    const oct20 = Date.UTC(2026, 9, 20, 12);
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }), { start: "2026-10-01", grace_h: 24, now: oct20 });
    await ok(await call("PUT", `/v1/contracts/${c.id}/alerts`, { token: c.vendor.api_key, body: { webhook_url: "http://sink.test/__dev/webhook-sink/closing" }, now: oct20 }));
    appendUsage(c.sites[0]!, { session: "oct", start: Date.UTC(2026, 9, 19, 8), end: Date.UTC(2026, 9, 19, 20) }, oct20);
    await send(c, c.sites[0]!, oct20);
    await settle(c.id);
    expect(await deliveries("closing")).toEqual([]);
    await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key })); // Nov 27: October closed on Nov 2
    await settle(c.id);
    // (The site, idle since October 20, has also gone stale: site.stale, webhook-events.test.ts.)
    const closed = (await deliveries("closing")).map((d) => JSON.parse(d.body)).filter((e) => e.type === "period.closed");
    const statement = await ok(await call("GET", `/v1/contracts/${c.id}/statement?period=2026-10-01`, { token: c.vendor.api_key }));
    expect(closed.map((e) => ({ type: e.type, start_date: e.data.period.start_date, total: e.data.total })))
      .toEqual([{ type: "period.closed", start_date: "2026-10-01", total: statement.total }]);
    expect({ state: statement.state, total: statement.total }).toEqual({ state: "closed", total: "5.60" }); // 12 units: 10 × 0.40 + 2 × 0.30 + 1 flat fee
  });

  it("a failed delivery is retried with the same event_id and body until the webhook accepts it", async () => {
    const c = await pricedContract(planOf("token", { overage: { policy: "block" } }));
    await ok(await call("PUT", `/v1/contracts/${c.id}/alerts`, { token: c.vendor.api_key, body: { webhook_url: "http://sink.test/__dev/webhook-sink/retry?fail=1", low_thresholds_pct: [0] } }));
    await grant(c, { amount: "1", idempotency_key: "g1" });
    await use(c, 2);
    await settle(c.id);
    const pending = await runInDurableObject(contractStub(c.id), (_i, state) =>
      state.storage.sql.exec("SELECT attempts, delivered_at IS NULL AS pending, last_error FROM events").toArray());
    expect(pending).toEqual([{ attempts: 1, pending: 1, last_error: "HTTP 503" }]);
    // The retry is due one real second later (backoff runs on the real clock): by then the alarm
    // may have run on its own; if not, run it.
    await new Promise((r) => setTimeout(r, 1100));
    await runDurableObjectAlarm(contractStub(c.id));
    const all = await deliveries("retry");
    expect(all.map((d) => d.status)).toEqual([503, 204]);
    expect(all[1]!.event_id).toBe(all[0]!.event_id);
    expect(all[1]!.body).toBe(all[0]!.body);
    expect(JSON.parse(all[0]!.body).type).toBe("balance.exhausted");
  });
});
