// POST/GET /v1/contracts, GET /v1/contracts/:id (vendor key). Creating a contract sets up its
// Durable Object first (idempotent, unreachable until the D1 row exists), then the D1 row.
import { Hono } from "hono";
import { and, asc, eq, gt } from "drizzle-orm";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";
import type { AppEnv } from "../env.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { jsonBody } from "../request-body.ts";
import { database } from "../db/database.ts";
import { contracts as contractTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { page, pageQuery } from "../pagination.ts";
import { ownContract, ownCustomer } from "../tenancy.ts";
import { contractStub, termsOf } from "../contract/stub.ts";
import { createContractSchema, DEFAULT_EXPECTED_SYNC_S, DEFAULT_STATEMENT_GRACE_H, startDate } from "../contract-input.ts";

export function presentContract(row: typeof contractTable.$inferSelect) {
  return {
    id: row.id, customer_id: row.customer_id, plan: JSON.parse(row.plan_json) as unknown,
    start: row.start_date, start_at: instant(row.start_at), timezone: row.timezone,
    statement_grace_h: row.statement_grace_h, expected_sync_s: row.expected_sync_s, created_at: instant(row.created_at),
  };
}

export const contracts = new Hono<AppEnv>()
  .post("/", vendorAuth(), bodyLimit(), idempotency(), async (c) => {
    const input = await jsonBody(c, createContractSchema);
    const db = database(c.env.DB);
    const vendorId = c.get("vendorId");
    await ownCustomer(db, vendorId, input.customer_id);
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
  .get("/", vendorAuth(), async (c) => {
    const { limit, cursor } = pageQuery(c);
    const mine = eq(contractTable.vendor_id, c.get("vendorId"));
    const rows = await database(c.env.DB).select().from(contractTable)
      .where(cursor ? and(mine, gt(contractTable.id, cursor)) : mine)
      .orderBy(asc(contractTable.id)).limit(limit + 1).all();
    return c.json(page(rows, limit, presentContract));
  })
  .get("/:id", vendorAuth(), async (c) => {
    return c.json(presentContract(await ownContract(database(c.env.DB), c.get("vendorId"), c.req.param("id"))));
  });
