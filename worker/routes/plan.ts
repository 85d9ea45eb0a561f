// PUT /v1/contracts/:id/plan {plan, effective_at} (vendor key): a new effective-dated plan
// version (DESIGN.md §6), accepted at once: 202 with the version, every version in force order and
// `rerating` ({done, total} while the usage it changes is re-rated by the contract's alarm, in
// bounded chunks; null when nothing needed it). The version reaches the contract's Durable Object
// (terms, quarantine scope, the contract doc the sites read) and D1 (`plan_json`, the latest
// version, which GET /v1/contracts/:id shows). 422 `invalid_plan` + `field` for a plan that
// breaks the model table or changes `period`, `currency` or `unit_name`; 409 `period_closed` when
// `effective_at` falls in a period that is already closed (end + statement grace passed). A
// version at the same instant as an existing one replaces it.
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { contractStub } from "../contract/stub.ts";
import { unwrap } from "../contract/billing-requests.ts";
import { database } from "../db/database.ts";
import { contracts } from "../db/schema.ts";
import { instant } from "../instant.ts";
import { instantInput, instantMs } from "../instant-input.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonBody, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { ex, planVersionsExample } from "../openapi/example-values.ts";

const planBodySchema = z.strictObject({
  plan: z.record(z.string(), z.unknown()).openapi({ description: "a plan (DESIGN.md §6), validated in full" }),
  effective_at: instantInput,
});

export const planVersionSchema = z.object({ effective_at: z.string(), plan: z.record(z.string(), z.unknown()) }).openapi("PlanVersion");

export const reratingSchema = z.object({ done: z.number().int(), total: z.number().int() })
  .openapi("Rerating", { description: "usage intervals re-rated so far under the newest terms, of those to re-rate" });

export const planVersionsSchema = z.object({
  contract_id: z.string(),
  version: planVersionSchema,
  versions: z.array(planVersionSchema),
  rerating: reratingSchema.nullable(),
}).openapi("PlanVersions");

export const planVersions = apiRouter().openapi(createRoute({
  method: "put", path: "/{id}/plan", tags: ["vendor"], summary: "Add an effective-dated plan version (re-rated in the background)", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract(), bodyLimit()] as const,
  request: { params: idParams("ctr"), ...jsonBody(planBodySchema, { example: { plan: ex.plan, effective_at: "2027-01-01T00:00:00Z" } }) },
  responses: { 202: jsonResponse("the version, accepted; every version of the contract; the re-rating it started", planVersionsSchema, planVersionsExample), ...vendorErrors(400, 409, 413, 415, 422) },
}), async (c) => {
  const body = c.req.valid("json");
  const contractId = c.get("contract").id;
  const effectiveAt = instantMs(body.effective_at);
  const { versions, rerating } = unwrap(await contractStub(c.env, contractId).putPlan(body.plan, effectiveAt, c.get("now")));
  const latest = versions[versions.length - 1]!;
  // The DO holds every version; D1 keeps the latest for listings (a failed write here is repeated
  // by repeating the request, which replaces the version with itself).
  await database(c.env.DB).update(contracts).set({ plan_json: JSON.stringify(latest.plan) }).where(eq(contracts.id, contractId)).run();
  const shown = (v: { effective_at: number; plan: unknown }) => ({ effective_at: instant(v.effective_at), plan: v.plan as Record<string, unknown> });
  return c.json({
    contract_id: contractId, version: shown(versions.find((v) => v.effective_at === effectiveAt)!), versions: versions.map(shown), rerating,
  }, 202);
});
