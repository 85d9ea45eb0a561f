// The TypeScript SDK (sdk/) against a local edge (wrangler dev): a vendor created and run
// entirely through `createClient`, a real collector process enrolled with the SDK's token and
// synced, then the balance and statements read back typed; typed errors; the automatic
// Idempotency-Key surviving a lost answer; and real signed webhook deliveries verified with
// `verifyWebhook` — a tampered body, a wrong key, a revoked key and an old timestamp refused.
import { createServer, type Server } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, TallyApiError, unwrap, verifyWebhook, WebhookVerificationError, type TallyClient, type WebhookEvent } from "../../sdk/index.ts";
import { generateKeyPair, keyIdOf, signWebhook } from "../../shared/protocol/signing.ts";
import { webhookEventSchema } from "../../worker/openapi/webhooks.ts";
import { FlexlmSimulator } from "../../scripts/flexlm-simulator.ts";
import { runCollector } from "../support/collector-process.ts";
import { startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { testNow } from "../support/test-clock.ts";

const DAY = 86_400_000;

interface Delivery { body: string; signature: string | undefined }

/** A webhook receiver on loopback that keeps the raw bytes and the signature header of every POST. */
async function startReceiver(): Promise<{ url: string; deliveries: Delivery[]; server: Server }> {
  const deliveries: Delivery[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      deliveries.push({ body: Buffer.concat(chunks).toString("utf8"), signature: req.headers["tally-signature"] as string | undefined });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/tally-hook`, deliveries, server };
}

/** A start date whose monthly periods put today about ten days into the open one, with two closed periods before it. */
function startTwoPeriodsAgo(now: number): string {
  const d = new Date(now - 10 * DAY);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 2, Math.min(d.getUTCDate(), 28))).toISOString().slice(0, 10);
}

describe("the SDK against a local edge", () => {
  let edge: LocalEdge;
  let dir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tally: TallyClient;
  let contractId: string;
  let start: string;
  let truthSeconds: number;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tally-sdk-"));
    [edge, receiver] = await Promise.all([startLocalEdge(), startReceiver()]);
  });

  afterAll(async () => {
    receiver?.server.close();
    await edge?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("creates a vendor, customer and contract, enrolls a collector whose sync shows in the balance", async () => {
    const operator = createClient({ baseUrl: edge.url, apiKey: edge.adminToken });
    const vendor = unwrap(await operator.POST("/v1/vendors", { body: { name: "SDK Vendor" } }));
    tally = createClient({ baseUrl: `${edge.url}/`, apiKey: vendor.api_key });
    const customer = unwrap(await tally.POST("/v1/customers", { body: { name: "Acme", external_id: "crm-42" } }));
    start = startTwoPeriodsAgo(testNow());
    const contract = unwrap(await tally.POST("/v1/contracts", {
      body: {
        customer_id: customer.id, start, timezone: "UTC",
        plan: {
          model: "pay_per_use", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" },
          rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 },
          price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.10", flat_fee: "0" }] },
          fixed_fee: "0", included_units: "0", minimum_commitment: "0", overage: { policy: "allow", limit_units: "0" },
        },
      },
    }));
    contractId = contract.id;
    expect(contract.start).toBe(start);
    unwrap(await tally.PUT("/v1/contracts/{id}/alerts", { params: { path: { id: contractId } }, body: { webhook_url: receiver.url } }));

    const { enrollment_token } = unwrap(await tally.POST("/v1/contracts/{id}/enrollments", { params: { path: { id: contractId } } }));
    const state = join(dir, "site");
    const init = await runCollector(["init", "--server", edge.url, "--enroll", enrollment_token, "--site", "Plant 1", "--state", state, "--json"]);
    expect(init.status, init.stderr).toBe(0);

    const open = unwrap(await tally.GET("/v1/contracts/{id}/balance", { params: { path: { id: contractId } } }));
    expect(open.usage.license_seconds).toBe(0);
    // Six simulated hours inside the open period, shut down cleanly so every session is closed.
    const t0 = Math.max(Date.parse(open.period.start), testNow() - 6 * 3600_000);
    const log = join(dir, "lmgrd.log");
    const sim = new FlexlmSimulator({ file: log, timezone: "UTC", seed: 14, checkoutRate: 0.5 });
    sim.start(t0);
    let t = t0;
    while (t < testNow() - 120_000) sim.step((t += 20_000));
    sim.shutdown(t);
    truthSeconds = [...sim.closedLicenseMs.values()].reduce((a, b) => a + b, 0) / 1000;
    expect(truthSeconds).toBeGreaterThan(0);
    for (const args of [["backfill", "--source", "flexlm-debuglog", "--file", log, "--timezone", "UTC"], ["sync"]]) {
      const r = await runCollector([...args, "--state", state, "--json"]);
      expect(r.status, r.stderr).toBe(0);
    }

    const balance = unwrap(await tally.GET("/v1/contracts/{id}/balance", { params: { path: { id: contractId } } }));
    expect(balance.contract_id).toBe(contractId);
    expect(balance.usage.license_seconds).toBe(truthSeconds);
    expect(balance.collectors.map((c) => [c.site, c.stale])).toEqual([["Plant 1", false]]);
    const sites = unwrap(await tally.GET("/v1/contracts/{id}/collectors", { params: { path: { id: contractId }, query: { limit: 10 } } }));
    expect(sites.items.map((s) => s.acked_seq)).toEqual([balance.collectors[0]!.acked_seq]);
  });

  it("reads the open statement and a closed period's frozen one", async () => {
    const open = unwrap(await tally.GET("/v1/contracts/{id}/statement", { params: { path: { id: contractId } } }));
    expect(open.state).toBe("open");
    // 1 token per license-hour at 0.10: the statement bills what the collector synced.
    expect(open.lines.reduce((sum, l) => sum + Number(l.amount), 0).toFixed(2)).toBe(open.total);
    expect(open.total).not.toBe("0.00");
    const first = unwrap(await tally.GET("/v1/contracts/{id}/statement", { params: { path: { id: contractId }, query: { period: start } } }));
    expect({ state: first.state, start_date: first.period.start_date, total: first.total }).toEqual({ state: "closed", start_date: start, total: "0.00" });
  });

  it("answers errors as TallyApiError with the stable code (and the field, for invalid_request)", async () => {
    const missing = await tally.GET("/v1/contracts/{id}", { params: { path: { id: "ctr_00000000000000000000000000000000" } } });
    expect(missing.error?.error).toBe("not_found");
    expect(() => unwrap(missing)).toThrow(TallyApiError);
    try {
      unwrap(await tally.POST("/v1/customers", { body: { name: "" } }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TallyApiError);
      expect({ code: (e as TallyApiError).code, status: (e as TallyApiError).status, field: (e as TallyApiError).field }).toEqual({ code: "invalid_request", status: 422, field: "name" });
    }
    const anonymous = createClient({ baseUrl: edge.url });
    const refused = await anonymous.GET("/v1/contracts/{id}/balance", { params: { path: { id: contractId } } });
    expect({ status: refused.response.status, code: refused.error?.error }).toEqual({ status: 401, code: "unauthorized" });
  });

  it("a creating POST whose answer is lost is sent again with the same Idempotency-Key: one customer, the first answer", async () => {
    const sent: Array<{ method: string; key: string | null }> = [];
    let lose = 1;
    const lossy = createClient({
      baseUrl: edge.url, apiKey: (await vendorKeyOf(tally)),
      async fetch(request) {
        sent.push({ method: request.method, key: request.headers.get("Idempotency-Key") });
        const response = await fetch(request);
        // The edge created the customer; the client never hears of it.
        if (lose-- > 0) { await response.body?.cancel(); throw new TypeError("fetch failed: connection reset"); }
        return response;
      },
    });
    const customer = unwrap(await lossy.POST("/v1/customers", { body: { name: "Lost Answer Ltd" } }));
    expect(sent).toHaveLength(2);
    expect(sent[0]!.key).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]!.key).toBe(sent[0]!.key);
    const all = unwrap(await tally.GET("/v1/customers", { params: { query: { limit: 100 } } }));
    expect(all.items.filter((c) => c.name === "Lost Answer Ltd").map((c) => c.id)).toEqual([customer.id]);

    // A PUT carries no key: it is not repeated behind the caller's back.
    sent.length = 0;
    lose = 1;
    await expect(lossy.PUT("/v1/contracts/{id}/alerts", { params: { path: { id: contractId } }, body: { webhook_url: receiver.url } })).rejects.toThrow(TypeError);
    expect(sent.map((s) => [s.method, s.key])).toEqual([["PUT", null]]);
  });

  it("verifies the edge's real webhook deliveries, and refuses a tampered body, a wrong key and an old signature", async () => {
    const keys = unwrap(await tally.GET("/v1/keys"));
    // Close the open period: read the balance on the edge's injected clock (development only),
    // just after the period's end plus its statement grace.
    const contract = unwrap(await tally.GET("/v1/contracts/{id}", { params: { path: { id: contractId } } }));
    const open = unwrap(await tally.GET("/v1/contracts/{id}/statement", { params: { path: { id: contractId } } }));
    const later = String(Date.parse(open.period.end) + contract.statement_grace_h * 3600_000 + 60_000);
    unwrap(await tally.GET("/v1/contracts/{id}/balance", { params: { path: { id: contractId } }, headers: { "X-Tally-Now": later } }));
    const closed = unwrap(await tally.GET("/v1/contracts/{id}/statement", { params: { path: { id: contractId }, query: { period: open.period.start_date } }, headers: { "X-Tally-Now": later } }));
    expect({ state: closed.state, total: closed.total }).toEqual({ state: "closed", total: open.total });

    let events: WebhookEvent[] = [];
    for (let i = 0; i < 150 && events.length === 0; i++) {
      events = receiver.deliveries.map((d) => verifyWebhook(d.body, d.signature, keys));
      if (events.length === 0) await new Promise((ok) => setTimeout(ok, 200));
    }
    await new Promise((ok) => setTimeout(ok, 500)); // nothing else is due: a second delivery would show here
    events = receiver.deliveries.map((d) => verifyWebhook(d.body, d.signature, keys));
    // Closing the period moved the edge's clock 3+ days past the site's last sync: it is stale too.
    expect(events.map((e) => e.type).sort()).toEqual(["period.closed", "site.stale"]);
    const event = events.find((e) => e.type === "period.closed")!;
    expect(webhookEventSchema.parse(event)).toEqual(event);
    expect(event.contract_id).toBe(contractId);
    expect(event.type === "period.closed" && [event.data.period.start_date, event.data.total]).toEqual([open.period.start_date, open.total]);

    const { body, signature } = receiver.deliveries[0]!;
    const refusal = (f: () => unknown) => { try { f(); return "accepted"; } catch (e) { return (e as WebhookVerificationError).reason; } };
    expect(refusal(() => verifyWebhook(body.replace(`"total":"${open.total}"`, '"total":"0.00"'), signature, keys))).toBe("bad_signature");
    expect(body).toContain(`"total":"${open.total}"`);
    const impostor = generateKeyPair();
    const wrongKey = [{ key_id: keys.keys[0]!.key_id, public_key: impostor.publicKey }];
    expect(refusal(() => verifyWebhook(body, signature, wrongKey))).toBe("bad_signature");
    expect(refusal(() => verifyWebhook(body, signature, [{ key_id: keyIdOf(impostor.publicKey), public_key: impostor.publicKey }]))).toBe("unknown_key");
    const t = Math.floor(testNow() / 1000) - 3600;
    const old = `t=${t},key_id=${keyIdOf(impostor.publicKey)},sig=${signWebhook(t, body, impostor.secretKey)}`;
    expect(refusal(() => verifyWebhook(body, old, [{ key_id: keyIdOf(impostor.publicKey), public_key: impostor.publicKey }]))).toBe("stale_timestamp");
    expect(refusal(() => verifyWebhook(body, "t=1,sig=zz", keys))).toBe("malformed_signature");
    const revoked = [{ ...keys.keys[0]!, revocation: { revoked_by: keyIdOf(impostor.publicKey), signature: "0".repeat(128) } }];
    expect(refusal(() => verifyWebhook(body, signature, revoked))).toBe("revoked_key");
    expect(refusal(() => verifyWebhook(new TextEncoder().encode(body), signature, keys))).toBe("accepted");
  });
});

/** The vendor key the client was made with (read back from its default headers). */
async function vendorKeyOf(client: TallyClient): Promise<string> {
  let key = "";
  await client.GET("/health", { fetch: async (request) => { key = request.headers.get("Authorization")!.slice("Bearer ".length); return new Response("{}", { headers: { "content-type": "application/json" } }); } });
  return key;
}
