// GET /v1/contracts/:id/collectors (vendor key): the contract's sites — enrollment from the
// directory (D1, which pages), sync state live from the ContractDO (acked seq, last sync, flags,
// staleness judged at the request's `now`), and each site's quarantined records from the D1
// projection (it converges within seconds of a batch).
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, count, eq, gt, inArray, isNotNull } from "drizzle-orm";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { database, type Database } from "../db/database.ts";
import { collectors, records } from "../db/schema.ts";
import { instant } from "../instant.ts";
import { page } from "../pagination.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, idSchema, jsonResponse, pageQuerySchema, pageSchema, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

export const siteSchema = z.looseObject({
  id: idSchema("col"), site: z.string(), enrolled_at: z.string(),
  acked_seq: z.number().int().openapi({ description: "highest receipted seq (the hwm)" }),
  last_sync: z.string().nullable(),
  stale: z.boolean().openapi({ description: "last sync (or enrollment, before any) older than 2 × the contract's expected_sync_s" }),
  flags: z.array(z.string()).openapi({ description: "e.g. `equivocation`" }),
  quarantined_records: z.number().int(),
}).openapi("Site");

/** Quarantined records per site of `ids`, read from the partial index records_quarantined (only
 * quarantined records are in it), never from the sites' whole histories. */
export function quarantinedQuery(db: Database, contractId: string, ids: string[]) {
  return db.select({ collector_id: records.collector_id, n: count() }).from(records)
    .where(and(eq(records.contract_id, contractId), inArray(records.collector_id, ids), isNotNull(records.quarantine)))
    .groupBy(records.collector_id);
}

export const contractCollectors = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/collectors", tags: ["vendor"], summary: "The contract's sites and their sync state", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr"), query: pageQuerySchema("col") },
  responses: { 200: jsonResponse("a page of sites, in enrollment order", pageSchema(siteSchema), { items: [{ id: ex.collector, site: "Acme Plant 3", enrolled_at: ex.created, acked_seq: 120, last_sync: "2026-11-27T09:59:30Z", stale: false, flags: [], quarantined_records: 0 }], next_cursor: null }), ...vendorErrors(422) },
}), async (c) => {
  const contract = c.get("contract");
  const { limit, cursor } = c.req.valid("query");
  const db = database(c.env.DB);
  const ofContract = eq(collectors.contract_id, contract.id);
  const rows = await db.select().from(collectors)
    .where(cursor ? and(ofContract, gt(collectors.id, cursor)) : ofContract)
    .orderBy(asc(collectors.id)).limit(limit + 1).all();
  const ids = rows.slice(0, limit).map((r) => r.id);
  const [live, quarantined] = await Promise.all([
    contractStub(c.env, contract.id).balance(c.get("now")),
    ids.length === 0 ? [] : quarantinedQuery(db, contract.id, ids).all(),
  ]);
  const liveById = new Map(live.collectors.map((s) => [s.collector_id, s]));
  const quarantinedById = new Map(quarantined.map((q) => [q.collector_id, q.n]));
  const staleAfterMs = 2 * contract.expected_sync_s * 1000;
  return c.json(page(rows, limit, (row) => {
    const { collector_id: _, ...state } = liveById.get(row.id) ?? {
      // Not yet known to the DO (cannot happen after enrollment; kept total): the projection.
      collector_id: row.id, site: row.site, acked_seq: row.hwm, last_sync: row.last_sync === null ? null : instant(row.last_sync),
      stale: !row.flags_json.includes('"revoked"') && c.get("now") - (row.last_sync ?? row.enrolled_at) > staleAfterMs, flags: JSON.parse(row.flags_json) as string[],
    };
    return { id: row.id, ...state, site: row.site, enrolled_at: instant(row.enrolled_at), quarantined_records: quarantinedById.get(row.id) ?? 0 };
  }), 200);
});
