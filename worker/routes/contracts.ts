// POST/GET /v1/contracts, GET /v1/contracts/:id (vendor key). Creating a contract sets up its
// Durable Object first (idempotent, unreachable until the D1 row exists), then the D1 row.
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { database } from "../db/database.ts";
import { contracts as contractTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { page } from "../pagination.ts";
import { ownCustomer } from "../tenancy.ts";
import { contractStub, termsOf } from "../contract/stub.ts";
import { createContractSchema, DEFAULT_EXPECTED_SYNC_S, DEFAULT_STATEMENT_GRACE_H, startDate } from "../contract-input.ts";
import { apiRouter } from "../openapi/router.ts";
import { EdgeError } from "../errors.ts";
import { parsePlan } from "../../shared/pricing/index.ts";
import { planVersionSchema } from "./plan.ts";
import {
  idempotencyHeaderSchema, idParams, idSchema, jsonBody, jsonResponse, pageQuerySchema, pageSchema, vendorErrors, vendorSecurity,
} from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

export const contractSchema = z.object({
  id: idSchema("ctr"), customer_id: idSchema("cus"),
  plan: z.record(z.string(), z.unknown()).openapi({ description: "the latest plan version (GET /v1/contracts/:id also lists every version)" }),
  start: z.string().openapi({ example: "2026-11-01" }), start_at: z.string(), timezone: z.string(),
  statement_grace_h: z.number().int(), expected_sync_s: z.number().int(), created_at: z.string(),
}).openapi("Contract");

export function presentContract(row: typeof contractTable.$inferSelect): z.infer<typeof contractSchema> {
  return {
    id: row.id, customer_id: row.customer_id, plan: JSON.parse(row.plan_json) as Record<string, unknown>,
    start: row.start_date, start_at: instant(row.start_at), timezone: row.timezone,
    statement_grace_h: row.statement_grace_h, expected_sync_s: row.expected_sync_s, created_at: instant(row.created_at),
  };
}

export const contractExample = {
  id: ex.contract, customer_id: ex.customer, plan: ex.plan, start: "2026-11-01", start_at: "2026-10-31T23:00:00Z", timezone: "Europe/Madrid",
  statement_grace_h: 72, expected_sync_s: 300, created_at: ex.created,
};

const contractDetailExample = { ...contractExample, plan_versions: [{ effective_at: contractExample.start_at, plan: ex.plan }] };

export const contracts = apiRouter()
  .openapi(createRoute({
    method: "post", path: "/", tags: ["vendor"], summary: "Create a contract (and its Durable Object)", security: vendorSecurity,
    middleware: [vendorAuth(), bodyLimit(), idempotency()] as const,
    request: { headers: idempotencyHeaderSchema, ...jsonBody(createContractSchema, { example: { customer_id: ex.customer, plan: ex.plan, start: "2026-11-01", timezone: "Europe/Madrid", expected_sync_s: 300 } }) },
    responses: { 201: jsonResponse("the contract", contractSchema, contractExample), ...vendorErrors(400, 409, 413, 415, 422) },
  }), async (c) => {
    const input = c.req.valid("json");
    const db = database(c.env.DB);
    const vendorId = c.get("vendorId");
    await ownCustomer(db, vendorId, input.customer_id);
    const parsed = parsePlan(input.plan);
    if (!parsed.ok) throw new EdgeError("invalid_plan", `${parsed.field}: ${parsed.message}`, { field: parsed.field });
    const start_date = startDate(input.start, input.timezone);
    const [y, m, d] = start_date.split("-").map(Number) as [number, number, number];
    const row: typeof contractTable.$inferSelect = {
      id: newId("ctr"), vendor_id: vendorId, customer_id: input.customer_id, plan_json: JSON.stringify(input.plan),
      start_date, start_at: wallTimeToUtc({ year: y, month: m, day: d, hour: 0, minute: 0, second: 0 }, input.timezone),
      timezone: input.timezone, statement_grace_h: input.statement_grace_h ?? DEFAULT_STATEMENT_GRACE_H,
      expected_sync_s: input.expected_sync_s ?? DEFAULT_EXPECTED_SYNC_S, created_at: c.get("now"),
    };
    await contractStub(c.env, row.id).setup(termsOf(row));
    await db.insert(contractTable).values(row).run();
    return c.json(presentContract(row), 201);
  })
  .openapi(createRoute({
    method: "get", path: "/", tags: ["vendor"], summary: "List contracts", security: vendorSecurity,
    middleware: [vendorAuth()] as const,
    request: { query: pageQuerySchema("ctr") },
    responses: { 200: jsonResponse("a page of contracts, in creation order", pageSchema(contractSchema), { items: [contractExample], next_cursor: null }), ...vendorErrors(422) },
  }), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const mine = eq(contractTable.vendor_id, c.get("vendorId"));
    const rows = await database(c.env.DB).select().from(contractTable)
      .where(cursor ? and(mine, gt(contractTable.id, cursor)) : mine)
      .orderBy(asc(contractTable.id)).limit(limit + 1).all();
    return c.json(page(rows, limit, presentContract), 200);
  })
  .openapi(createRoute({
    method: "get", path: "/{id}", tags: ["vendor"], summary: "A contract, its terms and every plan version", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract()] as const,
    request: { params: idParams("ctr") },
    responses: { 200: jsonResponse("the contract; `plan` is the latest version", contractSchema.extend({ plan_versions: z.array(planVersionSchema) }), contractDetailExample), ...vendorErrors() },
  }), async (c) => {
    const contract = c.get("contract");
    const versions = await contractStub(c.env, contract.id).planVersions();
    return c.json({ ...presentContract(contract), plan_versions: versions.map((v) => ({ effective_at: instant(v.effective_at), plan: v.plan as Record<string, unknown> })) }, 200);
  });
