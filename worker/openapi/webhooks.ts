// The webhook events the edge sends (DESIGN.md §7 "Webhooks"), as OpenAPI 3.1 `webhooks` and
// named schemas, so the SDK's `verifyWebhook` returns a typed event. The bodies are built by
// worker/contract/alerts.ts (`createEvent`, `checkThresholds`), billing.ts (`freezeDue`) and
// notices.ts (site.stale, grant.expiring, collector.equivocation);
// test/e2e/sdk.test.ts checks real deliveries against these schemas.
import { z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";

const periodSchema = z.object({
  start: z.string().openapi({ example: "2026-10-01T00:00:00Z" }),
  end: z.string().openapi({ example: "2026-11-01T00:00:00Z" }),
  start_date: z.string().openapi({ example: "2026-10-01" }),
}).openapi("Period");

const descriptions = new Map<string, string>();

function eventSchema<T extends string, D extends z.ZodType>(type: T, data: D, description: string) {
  descriptions.set(type, description);
  return z.object({
    event_id: z.string().openapi({ description: "stable across delivery attempts: deduplicate on it", example: "evt_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e0" }),
    type: z.literal(type),
    created_at: z.string().openapi({ example: "2026-11-02T00:00:00Z" }),
    contract_id: z.string().openapi({ example: "ctr_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e0" }),
    data,
  }).openapi({ description });
}

const thresholdData = z.object({
  threshold_pct: z.number().int().openapi({ description: "the % of granted units crossed downwards (0: exhausted)", example: 20 }),
  remaining_units: z.string().openapi({ example: "18.5" }),
  granted_units: z.string().openapi({ example: "100" }),
  unit_name: z.string().openapi({ example: "token" }),
  status: z.enum(["ok", "low", "exhausted", "blocked"]),
  period: periodSchema,
});

export const balanceLowEventSchema = eventSchema("balance.low", thresholdData,
  "The remaining units fell to or below a low threshold (once per crossing; re-armed when the balance rises back above it).")
  .openapi("BalanceLowEvent");

export const balanceExhaustedEventSchema = eventSchema("balance.exhausted", thresholdData,
  "The remaining units reached 0 (the 0 % threshold).")
  .openapi("BalanceExhaustedEvent");

export const periodClosedEventSchema = eventSchema("period.closed", z.object({
  period: periodSchema,
  currency: z.string().openapi({ example: "USD" }),
  total: z.string().openapi({ description: "the frozen statement's total", example: "1234.50" }),
}), "A period closed (its end + the statement grace passed): its statement is frozen.")
  .openapi("PeriodClosedEvent");

export const siteStaleEventSchema = eventSchema("site.stale", z.object({
  collector_id: z.string().openapi({ example: "col_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e3" }),
  site: z.string().openapi({ example: "Acme Plant 3" }),
  last_sync: z.string().nullable().openapi({ description: "null: the site never synced since it enrolled", example: "2026-11-25T09:59:30Z" }),
  stale_since: z.string().openapi({ description: "last sync (or enrollment) + 2 × expected_sync_s", example: "2026-11-27T09:59:30Z" }),
  expected_sync_s: z.number().int().openapi({ example: 86400 }),
}), "A site has not synced for 2 × the contract's expected_sync_s (once per silence; re-armed by its next sync). Revoked sites never go stale.")
  .openapi("SiteStaleEvent");

export const collectorEquivocationEventSchema = eventSchema("collector.equivocation", z.object({
  collector_id: z.string().openapi({ example: "col_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e3" }),
  site: z.string().openapi({ example: "Acme Plant 3" }),
  seq: z.number().int().openapi({ description: "the first seq where the two histories differ", example: 120 }),
  stored_hash: z.string().openapi({ example: "9f2c…" }),
  received_hash: z.string().openapi({ example: "41ab…" }),
}), "A site sent a second, different history for records already receipted (a VM snapshot restore, or tampering): the collector is flagged until the vendor resolves it (POST /v1/collectors/{id}/resolve).")
  .openapi("CollectorEquivocationEvent");

export const grantExpiringEventSchema = eventSchema("grant.expiring", z.object({
  grant_id: z.string().openapi({ example: "grt_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e5" }),
  amount: z.string().openapi({ example: "1000" }),
  remaining: z.string().nullable().openapi({ description: "units left when the event was created", example: "212.5" }),
  expires_at: z.string().openapi({ example: "2026-12-01T00:00:00Z" }),
}), "A grant expires within 7 days (once per grant).")
  .openapi("GrantExpiringEvent");

const eventSchemas = [balanceLowEventSchema, balanceExhaustedEventSchema, periodClosedEventSchema, siteStaleEventSchema, collectorEquivocationEventSchema, grantExpiringEventSchema] as const;

export const webhookEventSchema = z.discriminatedUnion("type", [...eventSchemas])
  .openapi("WebhookEvent");

const SIGNATURE_DESCRIPTION = "`t=<unix seconds>,key_id=<edk_…>,sig=<hex Ed25519>` over `\"tally/webhook/v1\\n\" + t + \"\\n\" + body`, "
  + "signed with the edge key listed at GET /v1/keys. Verify against the raw body bytes, before parsing.";

/** One `webhooks` entry per event type: what the edge POSTs to the contract's `webhook_url`. */
export function describeWebhooks(app: OpenAPIHono<AppEnv>): void {
  app.openAPIRegistry.register("WebhookEvent", webhookEventSchema);
  for (const schema of eventSchemas) {
    const type = schema.shape.type.value;
    app.openAPIRegistry.registerWebhook({
      method: "post", path: type, summary: type, description: descriptions.get(type), tags: ["webhooks"],
      request: {
        headers: z.object({
          "Tally-Signature": z.string().openapi({ param: { name: "Tally-Signature", in: "header" }, description: SIGNATURE_DESCRIPTION, example: "t=1793577600,key_id=edk_0123456789abcdef,sig=5f1c…" }),
          "Tally-Event-Id": z.string().openapi({ param: { name: "Tally-Event-Id", in: "header" }, description: "the body's event_id" }),
        }),
        body: { required: true, content: { "application/json": { schema } } },
      },
      responses: { 200: { description: "any 2xx acknowledges the event; anything else is retried with backoff (1 s doubling to 1 h), same event_id and body" } },
    });
  }
}
