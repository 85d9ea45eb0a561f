// POST /v1/admin/contracts/:id/reconcile (operator): compares the contract's D1 projection with
// its ContractDO and queues repairs for every difference (worker/contract/reconcile.ts). The
// answer reports what was found; the repairs land when the DO's alarm drains the outbox.
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { adminAuth } from "../middleware/admin-auth.ts";
import { database } from "../db/database.ts";
import { contracts } from "../db/schema.ts";
import { EdgeError } from "../errors.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { errorResponses, idParams, idSchema, jsonResponse, operatorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

const tableReport = z.object({ checked: z.number().int(), missing: z.number().int(), different: z.number().int(), extra: z.number().int() });
const reconcileReportSchema = tableReport.extend({
  contract_id: idSchema("ctr"),
  repaired: z.number().int().openapi({ description: "differences a queued outbox row repairs" }),
  unrepairable: z.number().int().openapi({ description: "differences only enrollment can repair (a D1 collector row missing)" }),
  enqueued: z.number().int(), pending_outbox: z.number().int().openapi({ description: "outbox rows not yet drained before this run" }),
  tables: z.object({ records: tableReport, interval_units: tableReport, collectors: tableReport }),
}).openapi("ReconcileReport");

export const adminReconcile = apiRouter().openapi(createRoute({
  method: "post", path: "/{id}/reconcile", tags: ["operator"], summary: "Compare a contract's D1 projection with its Durable Object and queue repairs",
  security: operatorSecurity,
  middleware: [adminAuth()] as const,
  request: { params: idParams("ctr") },
  responses: { 200: jsonResponse("what was compared and found", reconcileReportSchema, {
    contract_id: ex.contract, checked: 4075, missing: 1, different: 0, extra: 0, repaired: 1, unrepairable: 0, enqueued: 1, pending_outbox: 0,
    tables: { records: { checked: 4075, missing: 1, different: 0, extra: 0 }, interval_units: { checked: 4046, missing: 0, different: 0, extra: 0 }, collectors: { checked: 1, missing: 0, different: 0, extra: 0 } },
  }), ...errorResponses(401, 404) },
}), async (c) => {
  const { id } = c.req.valid("param");
  const contract = await database(c.env.DB).select({ id: contracts.id }).from(contracts).where(eq(contracts.id, id)).get();
  if (!contract) throw new EdgeError("not_found", `no contract ${id}`);
  return c.json(await contractStub(c.env, id).reconcile(), 200);
});
