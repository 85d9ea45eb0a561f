// POST/GET /v1/customers (vendor key): the vendor's customers.
import { Hono } from "hono";
import { and, asc, eq, gt } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { jsonBody } from "../request-body.ts";
import { database } from "../db/database.ts";
import { customers as customerTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { page, pageQuery } from "../pagination.ts";

const createCustomer = z.strictObject({
  name: z.string().min(1).max(256),
  external_id: z.string().min(1).max(256).optional(),
});

export function presentCustomer(row: typeof customerTable.$inferSelect) {
  return { id: row.id, name: row.name, external_id: row.external_id, created_at: instant(row.created_at) };
}

export const customers = new Hono<AppEnv>()
  .post("/", vendorAuth(), bodyLimit(), idempotency(), async (c) => {
    const input = await jsonBody(c, createCustomer);
    const row = { id: newId("cus"), vendor_id: c.get("vendorId"), name: input.name, external_id: input.external_id ?? null, created_at: c.get("now") };
    await database(c.env.DB).insert(customerTable).values(row).run();
    return c.json(presentCustomer(row), 201);
  })
  .get("/", vendorAuth(), async (c) => {
    const { limit, cursor } = pageQuery(c);
    const mine = eq(customerTable.vendor_id, c.get("vendorId"));
    const rows = await database(c.env.DB).select().from(customerTable)
      .where(cursor ? and(mine, gt(customerTable.id, cursor)) : mine)
      .orderBy(asc(customerTable.id)).limit(limit + 1).all();
    return c.json(page(rows, limit, presentCustomer));
  });
