// POST /v1/admin/contracts/:id/reconcile[?cursor&limit] (operator): one page of the comparison of
// the contract's D1 projection with its ContractDO (worker/contract/reconcile.ts): the collectors,
// then `limit` seqs of one collector's records and usage facts, then 24 hours of one collector's
// usage rollups. Differences are repaired — by queued outbox rows the alarm drains, or in place for
// rollups — and the answer reports what this page found, with the cursor of the next page (null:
// the walk is complete). Bounded work per call, whatever the contract's history.
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { adminAuth } from "../middleware/admin-auth.ts";
import { database } from "../db/database.ts";
import { contracts } from "../db/schema.ts";
import { EdgeError } from "../errors.ts";
import { contractStub } from "../contract/stub.ts";
import { decodeReconcileCursor, RECONCILE_DEFAULT_SEQS, RECONCILE_MAX_SEQS } from "../contract/reconcile.ts";
import { apiRouter } from "../openapi/router.ts";
import { errorResponses, idParams, idSchema, jsonResponse, operatorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

const tableReport = z.object({ checked: z.number().int(), missing: z.number().int(), different: z.number().int(), extra: z.number().int() });
const reconcileReportSchema = tableReport.extend({
  contract_id: idSchema("ctr"),
  phase: z.enum(["collectors", "records", "rollups"]),
  collector_id: z.string().nullable().openapi({ description: "the collector this page covered (records and rollups phases)" }),
  repaired: z.number().int().openapi({ description: "differences repaired: by a queued outbox row, or in place for rollups" }),
  unrepairable: z.number().int().openapi({ description: "differences only enrollment can repair (a D1 collector row missing)" }),
  enqueued: z.number().int(), pending_outbox: z.number().int().openapi({ description: "outbox rows not yet drained before this page" }),
  tables: z.object({ collectors: tableReport, records: tableReport, usage_facts: tableReport, usage_rollups: tableReport }),
  next_cursor: z.string().nullable().openapi({ description: "pass as ?cursor for the next page; null when the walk is complete" }),
}).openapi("ReconcileReport");

const reconcileQuery = z.object({
  cursor: z.string().max(1024).optional().openapi({ param: { name: "cursor", in: "query" } }),
  limit: z.coerce.number().int().min(1).max(RECONCILE_MAX_SEQS).default(RECONCILE_DEFAULT_SEQS)
    .openapi({ param: { name: "limit", in: "query" }, description: "seqs per page in the records phase" }),
});

export const adminReconcile = apiRouter().openapi(createRoute({
  method: "post", path: "/{id}/reconcile", tags: ["operator"], summary: "Compare one page of a contract's D1 projection with its Durable Object and repair it",
  security: operatorSecurity,
  middleware: [adminAuth()] as const,
  request: { params: idParams("ctr"), query: reconcileQuery },
  responses: { 200: jsonResponse("what this page compared and found", reconcileReportSchema, {
    contract_id: ex.contract, phase: "records", collector_id: ex.collector, checked: 1000, missing: 1, different: 0, extra: 0, repaired: 1, unrepairable: 0, enqueued: 1, pending_outbox: 0,
    tables: { collectors: { checked: 0, missing: 0, different: 0, extra: 0 }, records: { checked: 1000, missing: 1, different: 0, extra: 0 }, usage_facts: { checked: 990, missing: 0, different: 0, extra: 0 }, usage_rollups: { checked: 0, missing: 0, different: 0, extra: 0 } },
    next_cursor: "eyJwaGFzZSI6InJlY29yZHMifQ",
  }), ...errorResponses(401, 404, 422) },
}), async (c) => {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const cursor = q.cursor === undefined ? undefined : decodeReconcileCursor(q.cursor);
  if (q.cursor !== undefined && cursor === undefined) throw new EdgeError("invalid_request", "query.cursor: not a reconcile cursor", { field: "query.cursor" });
  const contract = await database(c.env.DB).select({ id: contracts.id }).from(contracts).where(eq(contracts.id, id)).get();
  if (!contract) throw new EdgeError("not_found", `no contract ${id}`);
  return c.json(await contractStub(c.env, id).reconcile(cursor, q.limit), 200);
});
