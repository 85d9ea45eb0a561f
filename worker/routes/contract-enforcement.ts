// GET /v1/contracts/:id/enforcement (vendor key): what the contract's sites did to their license
// managers' options files (opt-in site-side enforcement, `enforcement` records), newest first, read
// live from the ContractDO.
import { createRoute, z } from "@hono/zod-openapi";
import { contractStub } from "../contract/stub.ts";
import type { EnforcementCursor, EnforcementEntry } from "../contract/enforcement-log.ts";
import { instant } from "../instant.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ex } from "../openapi/example-values.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, idSchema, jsonResponse, pageSchema, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";

export const enforcementEntrySchema = z.object({
  collector_id: idSchema("col"), site: z.string(), seq: z.number().int(),
  action: z.string().openapi({ description: "`block` (the block was written) or `unblock` (it was removed)" }),
  features: z.array(z.string()),
  at: z.string().openapi({ description: "when the site changed its options file" }),
  result: z.string().openapi({ description: "`applied` (the license manager reread it) or `reread_failed` (written, reread retried)" }),
  received_at: z.string(),
}).openapi("EnforcementEntry");

const querySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ param: { name: "limit", in: "query" }, description: "1–100, default 20" }),
  cursor: z.string().regex(/^\d{1,16}\.\d{1,16}\.col_[A-Za-z0-9_-]{1,64}$/, "a cursor from a previous page").optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "opaque: the previous page's `next_cursor`" }),
});

export function enforcementItem(e: EnforcementEntry) {
  return { collector_id: e.collector_id, site: e.site, seq: e.seq, action: e.action, features: e.features, at: instant(e.at), result: e.result, received_at: instant(e.received_at) };
}

export const contractEnforcement = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/enforcement", tags: ["vendor"], summary: "What the sites' enforcement did to their license managers", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr"), query: querySchema },
  responses: {
    200: jsonResponse("a page of enforcement records, newest first", pageSchema(enforcementEntrySchema), {
      items: [{ collector_id: ex.collector, site: "Acme Plant 3", seq: 4211, action: "block", features: ["MATLAB"], at: "2026-11-27T10:00:00Z", result: "applied", received_at: "2026-11-27T10:00:02Z" }], next_cursor: null,
    }),
    ...vendorErrors(422),
  },
}), async (c) => {
  const { limit, cursor } = c.req.valid("query");
  let after: EnforcementCursor | undefined;
  if (cursor) {
    const [receivedAt, seq, collectorId] = cursor.split(".") as [string, string, string];
    after = { received_at: Number(receivedAt), seq: Number(seq), collector_id: collectorId };
  }
  const rows = await contractStub(c.env, c.get("contract").id).enforcement(limit + 1, after);
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  const next = rows.length > limit && last ? `${last.received_at}.${last.seq}.${last.collector_id}` : null;
  return c.json({ items: items.map(enforcementItem), next_cursor: next }, 200);
});
