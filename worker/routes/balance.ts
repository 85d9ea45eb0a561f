// GET /v1/contracts/:id/balance (vendor key): the live balance, read from the ContractDO.
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { balanceExample } from "../openapi/example-values.ts";

export const collectorStatusSchema = z.looseObject({
  collector_id: z.string(), site: z.string(), acked_seq: z.number().int(),
  last_sync: z.string().nullable(), stale: z.boolean(), flags: z.array(z.string()),
});

/** Fields may be added, never renamed (DESIGN.md §7): the schema lists what exists and allows more. */
export const balanceSchema = z.looseObject({
  contract_id: z.string(), as_of: z.string(),
  period: z.object({ start: z.string(), end: z.string(), start_date: z.string() }),
  unit_name: z.string(), currency: z.string(),
  usage: z.looseObject({
    license_seconds: z.number().int(),
    by_feature: z.array(z.looseObject({ feature: z.string(), license_seconds: z.number().int() })),
  }),
  quarantined_records: z.number().int(), stale: z.boolean(), collectors: z.array(collectorStatusSchema),
}).openapi("Balance");

export const balance = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/balance", tags: ["vendor"], summary: "The live balance, from the contract's Durable Object", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr") },
  responses: { 200: jsonResponse("the balance", balanceSchema, balanceExample), ...vendorErrors() },
}), async (c) => c.json(await contractStub(c.env, c.get("contract").id).balance(c.get("now")), 200));
