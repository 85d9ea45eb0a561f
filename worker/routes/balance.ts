// GET /v1/contracts/:id/balance (vendor key): the live balance, read from the ContractDO.
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { reratingSchema } from "./plan.ts";
import { balanceExample } from "../openapi/example-values.ts";

export const collectorStatusSchema = z.looseObject({
  collector_id: z.string(), site: z.string(), acked_seq: z.number().int(),
  last_sync: z.string().nullable(), stale: z.boolean(), flags: z.array(z.string()),
});

/** Whole seconds: a usage record whose times are not whole seconds is quarantined (shared/protocol/rateable.ts). */
const licenseSeconds = z.number().int();

/** Fields may be added, never renamed (DESIGN.md §7): the schema lists what exists and allows more. */
export const balanceSchema = z.looseObject({
  contract_id: z.string(), as_of: z.string(),
  period: z.object({ start: z.string(), end: z.string(), start_date: z.string() }),
  unit_name: z.string(), currency: z.string(),
  usage: z.looseObject({
    units: z.string().openapi({ description: "decimal string: units burnt this period" }),
    license_seconds: licenseSeconds, billed_license_seconds: licenseSeconds.openapi({ description: "license-seconds after the plan's rounding (increments, minimums)" }),
    by_feature: z.array(z.looseObject({
      feature: z.string(), units: z.string(), license_seconds: licenseSeconds, billed_license_seconds: licenseSeconds,
      draws: z.number().int().openapi({ description: "draws counted this period: use windows opened (`per: use_window`) or licenses checked out (`per: checkout`); 0 for a feature rated by the license-hour" }),
    })),
    unrated_features: z.array(z.string()).openapi({ description: "features used this period that the plan does not rate (billed nothing)" }),
  }),
  grants: z.array(z.looseObject({
    id: z.string(), amount: z.string(), remaining: z.string(), effective_at: z.string(), expires_at: z.string().nullable(),
    priority: z.number().int().openapi({ description: "lower burns first" }),
  })).openapi({ description: "the grants that count now: reaching into this period, not expired, not used up before it" }),
  granted_units: z.string(), remaining_units: z.string().nullable().openapi({ description: "decimal string; null for a contract without grants" }),
  overage_units: z.string(), unbilled_overage_units: z.string(),
  charges: z.looseObject({ fixed: z.string(), usage: z.string(), adjustments: z.string(), total: z.string() }).openapi({ description: "the open statement's charges so far, decimal strings in the plan's currency" }),
  status: z.enum(["ok", "low", "exhausted", "blocked"]),
  quarantined_records: z.number().int(), stale: z.boolean(), collectors: z.array(collectorStatusSchema),
  rerating: reratingSchema.optional().openapi({ description: "present while a plan version or grant is still being re-rated: figures mix old and new rating until done" }),
}).openapi("Balance");

export const balance = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/balance", tags: ["vendor"], summary: "The live balance, from the contract's Durable Object", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr") },
  responses: { 200: jsonResponse("the balance", balanceSchema, balanceExample), ...vendorErrors() },
}), async (c) => c.json(await contractStub(c.env, c.get("contract").id).balance(c.get("now")), 200));
