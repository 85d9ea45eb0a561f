// GET /v1/contracts/:id/usage?from&to&group_by=feature,product,user,host,collector,day&limit&cursor
// (vendor key): usage history from D1's rollups (DESIGN.md §7; usage-report.ts), so it lags
// the DO by one outbox drain (about a second). [from, to) must start and end on whole hours of the
// contract's time zone — the rollups' resolution — and any span is allowed: the Worker reads one
// page of groups, never the rows behind them, and D1 reads whole days and months from the coarse
// rollups, hours only at the ends. `group_by` absent: one total row (none when empty).
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { EdgeError } from "../errors.ts";
import { instant } from "../instant.ts";
import { instantInput, instantMs } from "../instant-input.ts";
import { LocalHours } from "../../shared/time/local-hours.ts";
import { contractStub } from "../contract/stub.ts";
import { decodeUsageCursor, encodeUsageCursor, usagePage, usageQueryTag, USAGE_DIMENSIONS, type UsageDimension } from "../usage-report.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { usageExample } from "../openapi/example-values.ts";

export const USAGE_DEFAULT_LIMIT = 100;
export const USAGE_MAX_LIMIT = 1000;

const usageQuery = z.object({
  from: instantInput.openapi({ param: { name: "from", in: "query" }, description: "inclusive; on a whole hour of the contract's time zone" }),
  to: instantInput.openapi({ param: { name: "to", in: "query" }, description: "exclusive; on a whole hour of the contract's time zone" }),
  group_by: z.string().optional()
    .refine((s) => s === undefined || s.split(",").every((d) => (USAGE_DIMENSIONS as readonly string[]).includes(d)), `a comma list of ${USAGE_DIMENSIONS.join(", ")}`)
    .openapi({ param: { name: "group_by", in: "query" }, example: "feature,day" }),
  limit: z.coerce.number().int().min(1).max(USAGE_MAX_LIMIT).default(USAGE_DEFAULT_LIMIT).openapi({ param: { name: "limit", in: "query" } }),
  cursor: z.string().max(4096).optional().openapi({ param: { name: "cursor", in: "query" }, description: "next_cursor of the page before" }),
});

const usageRowSchema = z.looseObject({
  feature: z.string().nullable().optional(), product: z.string().nullable().optional(), user: z.string().nullable().optional(),
  host: z.string().nullable().optional(), collector: z.string().nullable().optional(), day: z.string().nullable().optional(),
  license_seconds: z.number(), units: z.string(), sessions: z.number().int(), denials: z.number().int(),
  draws: z.number().int().openapi({ description: "draws opened (use windows, licenses checked out), counted in the hour the opening record starts; 0 for license-hours" }),
});

export const usage = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/usage", tags: ["vendor"], summary: "Usage history from D1's hourly rollups, grouped and paged", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr"), query: usageQuery },
  responses: {
    200: jsonResponse("one page of groups, in group order", z.object({
      contract_id: z.string(), from: z.string(), to: z.string(), group_by: z.array(z.enum(USAGE_DIMENSIONS)),
      items: z.array(usageRowSchema), next_cursor: z.string().nullable(),
    }).openapi("Usage"), usageExample),
    ...vendorErrors(422),
  },
}), async (c) => {
  const q = c.req.valid("query");
  const contract = c.get("contract");
  const from = instantMs(q.from), to = instantMs(q.to);
  const hours = new LocalHours(contract.timezone);
  for (const [field, t] of [["from", from], ["to", to]] as const) {
    if (!hours.isHourStart(t)) throw new EdgeError("invalid_request", `query.${field}: must be on a whole hour in ${contract.timezone} (usage is kept per hour)`, { field: `query.${field}` });
  }
  if (to <= from) throw new EdgeError("invalid_request", "query.to: must be after from", { field: "query.to" });
  const groupBy = [...new Set(q.group_by ? q.group_by.split(",") : [])] as UsageDimension[];
  const tag = usageQueryTag(contract.id, from, to, groupBy);
  const after = q.cursor === undefined ? undefined : decodeUsageCursor(q.cursor, groupBy.length, tag);
  if (q.cursor !== undefined && after === undefined) throw new EdgeError("invalid_request", "query.cursor: not a cursor of this query (contract, from, to and group_by)", { field: "query.cursor" });
  const page = await usagePage(c.env.DB, { contractId: contract.id, hours, from, to, groupBy, limit: q.limit, after });
  // Read from the hourly rows while the contract's older history is summed into the coarse ones:
  // its DO's alarm does that, and a contract with no site syncing would otherwise never wake it.
  // The answer is right either way, so a DO that cannot be reached does not fail it.
  if (page.backfilling) await contractStub(c.env, contract.id).backfillCoarse().catch((error: unknown) => console.error("waking the contract's backfill failed:", error));
  return c.json({
    contract_id: contract.id, from: instant(from), to: instant(to), group_by: groupBy,
    items: page.items, next_cursor: page.next ? encodeUsageCursor(page.next, tag) : null,
  }, 200);
});
