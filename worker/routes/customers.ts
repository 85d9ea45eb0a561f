// POST/GET /v1/customers and GET /v1/customers/:id (vendor key): the vendor's customers; another
// vendor's id answers 404 like one that does not exist (tenancy.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { database } from "../db/database.ts";
import { ownCustomer } from "../tenancy.ts";
import { customers as customerTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { page } from "../pagination.ts";
import { apiRouter } from "../openapi/router.ts";
import {
  idempotencyHeaderSchema, idParams, idSchema, jsonBody, jsonResponse, pageQuerySchema, pageSchema, vendorErrors, vendorSecurity,
} from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

const createCustomer = z.strictObject({
  name: z.string().min(1).max(256),
  external_id: z.string().min(1).max(256).optional().openapi({ description: "the vendor's own reference" }),
});

export const customerSchema = z.object({
  id: idSchema("cus"), name: z.string(), external_id: z.string().nullable(), created_at: z.string(),
}).openapi("Customer");

export function presentCustomer(row: typeof customerTable.$inferSelect): z.infer<typeof customerSchema> {
  return { id: row.id, name: row.name, external_id: row.external_id, created_at: instant(row.created_at) };
}

const customerExample = { id: ex.customer, name: "Acme Engineering", external_id: "crm-00042", created_at: ex.created };

export const customers = apiRouter()
  .openapi(createRoute({
    method: "post", path: "/", tags: ["vendor"], summary: "Create a customer", security: vendorSecurity,
    middleware: [vendorAuth(), bodyLimit(), idempotency()] as const,
    request: { headers: idempotencyHeaderSchema, ...jsonBody(createCustomer, { example: { name: "Acme Engineering", external_id: "crm-00042" } }) },
    responses: { 201: jsonResponse("the customer", customerSchema, customerExample), ...vendorErrors(400, 409, 413, 415, 422) },
  }), async (c) => {
    const input = c.req.valid("json");
    const row = { id: newId("cus"), vendor_id: c.get("vendorId"), name: input.name, external_id: input.external_id ?? null, created_at: c.get("now") };
    await database(c.env.DB).insert(customerTable).values(row).run();
    return c.json(presentCustomer(row), 201);
  })
  .openapi(createRoute({
    method: "get", path: "/", tags: ["vendor"], summary: "List customers", security: vendorSecurity,
    middleware: [vendorAuth()] as const,
    request: { query: pageQuerySchema("cus") },
    responses: { 200: jsonResponse("a page of customers, in creation order", pageSchema(customerSchema), { items: [customerExample], next_cursor: null }), ...vendorErrors(422) },
  }), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const mine = eq(customerTable.vendor_id, c.get("vendorId"));
    const rows = await database(c.env.DB).select().from(customerTable)
      .where(cursor ? and(mine, gt(customerTable.id, cursor)) : mine)
      .orderBy(asc(customerTable.id)).limit(limit + 1).all();
    return c.json(page(rows, limit, presentCustomer), 200);
  })
  .openapi(createRoute({
    method: "get", path: "/{id}", tags: ["vendor"], summary: "A customer", security: vendorSecurity,
    middleware: [vendorAuth()] as const,
    request: { params: idParams("cus") },
    responses: { 200: jsonResponse("the customer", customerSchema, customerExample), ...vendorErrors(422) },
  }), async (c) => {
    return c.json(presentCustomer(await ownCustomer(database(c.env.DB), c.get("vendorId"), c.req.valid("param").id)), 200);
  });
