// PUT /v1/contracts/:id/plan {plan, effective_at} (vendor key): a new effective-dated plan
// version (DESIGN.md §6). 422 `invalid_plan` + `field` for a plan that breaks the model table or
// changes `period`, `currency` or `unit_name`; 409 `period_closed` when `effective_at` falls in
// a period that is already closed (end + statement grace passed). A version at the same instant
// as an existing one replaces it. Answers every version in force order.
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { contractStub } from "../contract/stub.ts";
import { unwrap } from "../contract/billing-requests.ts";
import { instant } from "../instant.ts";
import { instantInput, instantMs } from "../instant-input.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonBody, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

const planBodySchema = z.strictObject({
  plan: z.record(z.string(), z.unknown()).openapi({ description: "a plan (DESIGN.md §6), validated in full" }),
  effective_at: instantInput,
});

export const planVersionsSchema = z.object({
  contract_id: z.string(),
  versions: z.array(z.object({ effective_at: z.string(), plan: z.record(z.string(), z.unknown()) })),
}).openapi("PlanVersions");

export const planVersions = apiRouter().openapi(createRoute({
  method: "put", path: "/{id}/plan", tags: ["vendor"], summary: "Add an effective-dated plan version", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract(), bodyLimit()] as const,
  request: { params: idParams("ctr"), ...jsonBody(planBodySchema, { example: { plan: ex.plan, effective_at: "2027-01-01T00:00:00Z" } }) },
  responses: { 200: jsonResponse("every plan version of the contract", planVersionsSchema, { contract_id: ex.contract, versions: [{ effective_at: "2026-11-01T00:00:00Z", plan: ex.plan }, { effective_at: "2027-01-01T00:00:00Z", plan: ex.plan }] }), ...vendorErrors(400, 409, 413, 415, 422) },
}), async (c) => {
  const body = c.req.valid("json");
  const contractId = c.get("contract").id;
  const versions = unwrap(await contractStub(c.env, contractId).putPlan(body.plan, instantMs(body.effective_at), c.get("now")));
  return c.json({ contract_id: contractId, versions: versions.map((v) => ({ effective_at: instant(v.effective_at), plan: v.plan as Record<string, unknown> })) }, 200);
});
