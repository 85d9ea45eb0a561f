// POST /v1/contracts/:id/grants (vendor key): prepaid tokens, top-ups, promotions (DESIGN.md §6).
// `idempotency_key` is required in the body: the same key with the same body answers the grant
// created first (201 again, `Idempotent-Replayed: true`); with another body it is a 409. The
// `Idempotency-Key` header is honoured too, as on every creating POST (24 h, scope: the vendor).
// `effective_at` defaults to the start of the period in which the grant is created. A grant whose
// start or expiry cuts usage already rated (a retroactive grant) is accepted at once and that usage
// is re-rated by the contract's alarm: `rerating` says how far it got ({done, total}; else null).
import { createRoute, z } from "@hono/zod-openapi";
import { isDecimalText, parseScaled } from "../../shared/decimal/decimal.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { contractStub } from "../contract/stub.ts";
import { unwrap } from "../contract/billing-requests.ts";
import { EdgeError } from "../errors.ts";
import { instant } from "../instant.ts";
import { instantInput, instantMs } from "../instant-input.ts";
import { apiRouter } from "../openapi/router.ts";
import { idempotencyHeaderSchema, idParams, idSchema, jsonBody, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { reratingSchema } from "./plan.ts";
import { grantExample } from "../openapi/example-values.ts";

const grantBodySchema = z.strictObject({
  amount: z.string().refine((s) => isDecimalText(s, 12) && !s.startsWith("-") && parseScaled(s, 12) > 0n, "a positive decimal string with at most 12 decimals")
    .openapi({ example: "100" }),
  priority: z.number().int().min(-1_000_000).max(1_000_000).optional().openapi({ description: "lower burns first; default 0" }),
  effective_at: instantInput.nullable().optional(),
  expires_at: instantInput.nullable().optional().openapi({ description: "exclusive; null or absent: never" }),
  idempotency_key: z.string().regex(/^[!-~]{1,255}$/, "1–255 printable ASCII characters"),
  created_at: instantInput.optional().openapi({ description: "moving a contract: when the grant was created on the edge it comes from (which periods it can reach). Only while a site's history is being imported, else 409 `arrival_refused`" }),
});

export const grantSchema = z.object({
  id: idSchema("grt"), contract_id: idSchema("ctr"), amount: z.string(), priority: z.number().int(),
  effective_at: z.string().nullable().openapi({ description: "null: the start of the period in which it was created" }),
  expires_at: z.string().nullable(), created_at: z.string(),
  rerating: reratingSchema.nullable().optional().openapi({ description: "the re-rating in progress after this grant; null when none" }),
}).openapi("Grant");

export const grants = apiRouter().openapi(createRoute({
  method: "post", path: "/{id}/grants", tags: ["vendor"], summary: "Top up: add a grant of prepaid units", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract(), bodyLimit(), idempotency()] as const,
  request: { params: idParams("ctr"), headers: idempotencyHeaderSchema, ...jsonBody(grantBodySchema, { example: { amount: "1000", expires_at: "2027-01-01T00:00:00Z", idempotency_key: "order-2026-11-0042" } }) },
  responses: { 201: jsonResponse("the grant (also for a replay of the same idempotency_key and body)", grantSchema, grantExample), ...vendorErrors(400, 409, 413, 415, 422) },
}), async (c) => {
  const body = c.req.valid("json");
  // Kept to the second, as every answer (and a contract's export) shows them: the balance printed the
  // milliseconds the grant's answer and export floored, so a grant moved between edges changed.
  const effectiveAt = body.effective_at == null ? null : wholeSecond(instantMs(body.effective_at));
  const expiresAt = body.expires_at == null ? null : wholeSecond(instantMs(body.expires_at));
  if (expiresAt !== null && effectiveAt !== null && expiresAt <= effectiveAt) {
    throw new EdgeError("invalid_request", "expires_at: must be after effective_at", { field: "expires_at" });
  }
  const contractId = c.get("contract").id;
  const { grant, created, rerating } = unwrap(await contractStub(c.env, contractId).addGrant({
    amount: body.amount, priority: body.priority ?? 0, effective_at: effectiveAt, expires_at: expiresAt, idempotency_key: body.idempotency_key,
    ...(body.created_at === undefined ? {} : { created_at: instantMs(body.created_at) }),
  }, c.get("now")));
  if (!created) c.header("Idempotent-Replayed", "true");
  return c.json({
    id: grant.id, contract_id: contractId, amount: grant.amount, priority: grant.priority,
    effective_at: grant.effective_at === null ? null : instant(grant.effective_at),
    expires_at: grant.expires_at === null ? null : instant(grant.expires_at), created_at: instant(grant.created_at), rerating,
  }, 201);
});
