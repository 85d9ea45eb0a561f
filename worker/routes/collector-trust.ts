// The vendor's decisions about a site's trust (DESIGN.md §4, §7), vendor key, tenancy-checked
// (another vendor's collector answers 404):
//   POST /v1/collectors/:id/revoke   freeze the chain at its hwm; later records are `revoked`
//   POST /v1/collectors/:id/resolve  {last_common_seq?}: accept the site's new branch after an
//                                    equivocation (worker/contract/fork-resolution.ts). Honours
//                                    Idempotency-Key: a retry whose first answer was lost gets that
//                                    answer, not 409 `nothing_to_resolve` — nor, should the site have
//                                    forked again in between, a resolution of the second fork.
import { createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { z } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { database } from "../db/database.ts";
import { collectors } from "../db/schema.ts";
import { instant } from "../instant.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { optionalJsonBody } from "../middleware/json-content.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { validated } from "../request-body.ts";
import { identityOf, type CollectorRow } from "../auth/collector-token.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { idempotencyHeaderSchema, idParams, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

const resolveSchema = z.strictObject({
  last_common_seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
}).openapi("ResolveRequest");

const revocationSchema = z.object({ collector_id: z.string(), revoked_at_seq: z.number().int(), revoked_at: z.string() }).openapi("Revocation");
const resolutionSchema = z.looseObject({
  collector_id: z.string(), last_common_seq: z.number().int(), hwm: z.number().int(), resolved_at: z.string(),
  superseded: z.object({ from_seq: z.number().int(), to_seq: z.number().int(), records: z.number().int() }),
}).openapi("Resolution");

export const collectorTrust = apiRouter();
collectorTrust.openAPIRegistry.register("ResolveRequest", resolveSchema);
collectorTrust
  .openapi(createRoute({
    method: "post", path: "/{id}/revoke", tags: ["vendor"], summary: "Revoke a collector: its chain is frozen at its hwm", security: vendorSecurity,
    middleware: [vendorAuth(), bodyLimit()] as const,
    request: { params: idParams("col") },
    responses: { 200: jsonResponse("the revocation (a second call answers the first)", revocationSchema, { collector_id: ex.collector, revoked_at_seq: 120, revoked_at: ex.now }), ...vendorErrors() },
  }), async (c) => {
    const collector = await ownCollector(c.env.DB, c.get("vendorId"), c.req.param("id"));
    const revocation = await contractStub(c.env, collector.contract_id).revokeCollector(identityOf(collector), c.get("now"));
    return c.json({ collector_id: revocation.collector_id, revoked_at_seq: revocation.revoked_at_seq, revoked_at: instant(revocation.revoked_at) });
  })
  .openapi(createRoute({
    method: "post", path: "/{id}/resolve", tags: ["vendor"], summary: "Accept a site's new branch after an equivocation", security: vendorSecurity,
    middleware: [vendorAuth(), bodyLimit(), optionalJsonBody(), idempotency()] as const,
    // The body is optional (`{last_common_seq?}`), read in the handler so an empty body needs no Content-Type.
    request: { params: idParams("col"), headers: idempotencyHeaderSchema, body: { required: false, content: { "application/json": { schema: { $ref: "#/components/schemas/ResolveRequest" }, example: { last_common_seq: 98 } } } } },
    responses: { 200: jsonResponse("the resolution", resolutionSchema, { collector_id: ex.collector, last_common_seq: 98, hwm: 98, resolved_at: ex.now, superseded: { from_seq: 99, to_seq: 120, records: 22 } }), ...vendorErrors(400, 409, 413, 415, 422) },
  }), async (c) => {
    const collector = await ownCollector(c.env.DB, c.get("vendorId"), c.req.param("id"));
    const input = validated(resolveSchema, optionalJson(await c.req.text()), "");
    const stub = contractStub(c.env, collector.contract_id);
    await stub.registerCollector(identityOf(collector));
    const outcome = await stub.resolveFork(collector.id, input.last_common_seq, c.get("now"));
    if (!outcome.ok) {
      const extra = outcome.code === "invalid_request" ? { field: "last_common_seq" } : {};
      throw new EdgeError(outcome.code, outcome.message, extra);
    }
    return c.json({ ...outcome.resolution, resolved_at: instant(outcome.resolution.resolved_at) });
  });

async function ownCollector(d1: D1Database, vendorId: string, id: string): Promise<CollectorRow> {
  const row = await database(d1).select().from(collectors).where(and(eq(collectors.id, id), eq(collectors.vendor_id, vendorId))).get();
  if (!row) throw new EdgeError("not_found", `no collector ${id}`);
  return row;
}

/** An empty body means no options. */
function optionalJson(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new EdgeError("malformed", "request body is not valid JSON");
  }
}
