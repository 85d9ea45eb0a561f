// PUT /v1/contracts/:id/alerts {webhook_url, low_thresholds_pct?} (vendor key): where the
// contract's events go (DESIGN.md §7 "Webhooks") and which % of granted units count as low
// (default [20, 10, 0]; 0 means exhausted). Thresholds already crossed when this is set are
// armed as crossed: an event announces a change, not a state that already held.
// In production webhook_url must be https and name a public address (webhook-target.ts: no
// loopback, private or link-local address, literal or resolved); development and test accept
// http and local receivers.
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { contractStub } from "../contract/stub.ts";
import { EdgeError } from "../errors.ts";
import { dohResolve, webhookTargetRefusal } from "../contract/webhook-target.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonBody, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";
import { isProduction } from "../env.ts";

const alertsBodySchema = z.strictObject({
  webhook_url: z.string().max(2048).refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), "an http(s) URL"),
  low_thresholds_pct: z.array(z.number().int().min(0).max(100)).min(1).max(10).optional(),
});

export const alertsSchema = z.object({
  contract_id: z.string(), webhook_url: z.string(), low_thresholds_pct: z.array(z.number().int()),
}).openapi("Alerts");

export const alerts = apiRouter().openapi(createRoute({
  method: "put", path: "/{id}/alerts", tags: ["vendor"], summary: "Set the webhook and low-balance thresholds", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract(), bodyLimit()] as const,
  request: { params: idParams("ctr"), ...jsonBody(alertsBodySchema, { example: { webhook_url: "https://billing.example.com/tally/webhooks", low_thresholds_pct: [20, 10, 0] } }) },
  responses: { 200: jsonResponse("the alert settings", alertsSchema, { contract_id: ex.contract, webhook_url: "https://billing.example.com/tally/webhooks", low_thresholds_pct: [20, 10, 0] }), ...vendorErrors(400, 413, 415, 422) },
}), async (c) => {
  const body = c.req.valid("json");
  if (isProduction(c.env)) {
    if (new URL(body.webhook_url).protocol !== "https:") throw new EdgeError("invalid_request", "webhook_url: must be https", { field: "webhook_url" });
    const refusal = await webhookTargetRefusal(body.webhook_url, dohResolve);
    if (refusal !== null) throw new EdgeError("invalid_request", `webhook_url: ${refusal}`, { field: "webhook_url" });
  }
  const contractId = c.get("contract").id;
  const config = await contractStub(c.env, contractId).setAlerts({
    webhook_url: body.webhook_url, ...(body.low_thresholds_pct ? { low_thresholds_pct: body.low_thresholds_pct } : {}),
  }, c.get("now"));
  return c.json({ contract_id: contractId, ...config }, 200);
});
