// GET /v1/contracts/:id/usage?from&to&group_by=feature,user,host,collector,day (vendor key):
// usage history from the D1 projection (DESIGN.md §7), so it lags the DO by one outbox drain
// (about a second). `from` < `to`, at most 366 days apart; `group_by` absent: one total row.
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { EdgeError } from "../errors.ts";
import { instant } from "../instant.ts";
import { instantInput, instantMs } from "../instant-input.ts";
import { usageReport, USAGE_DIMENSIONS, type DenialRow, type UsageDimension, type UsageIntervalRow } from "../usage-report.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { usageExample } from "../openapi/example-values.ts";

const MAX_SPAN_MS = 366 * 86_400_000;

const usageQuery = z.object({
  from: instantInput.openapi({ param: { name: "from", in: "query" } }),
  to: instantInput.openapi({ param: { name: "to", in: "query" } }),
  group_by: z.string().optional()
    .refine((s) => s === undefined || s.split(",").every((d) => (USAGE_DIMENSIONS as readonly string[]).includes(d)), `a comma list of ${USAGE_DIMENSIONS.join(", ")}`)
    .openapi({ param: { name: "group_by", in: "query" }, example: "feature,day" }),
});

const usageRowSchema = z.looseObject({
  feature: z.string().nullable().optional(), user: z.string().nullable().optional(), host: z.string().nullable().optional(),
  collector: z.string().nullable().optional(), day: z.string().nullable().optional(),
  license_seconds: z.number(), units: z.string(), sessions: z.number().int(), denials: z.number().int(),
});

export const usage = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/usage", tags: ["vendor"], summary: "Usage history from D1, grouped", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr"), query: usageQuery },
  responses: {
    200: jsonResponse("rows per group", z.object({ contract_id: z.string(), from: z.string(), to: z.string(), group_by: z.array(z.enum(USAGE_DIMENSIONS)), rows: z.array(usageRowSchema) }).openapi("Usage"), usageExample),
    ...vendorErrors(422),
  },
}), async (c) => {
  const q = c.req.valid("query");
  const from = instantMs(q.from), to = instantMs(q.to);
  if (to <= from) throw new EdgeError("invalid_request", "query.to: must be after from", { field: "query.to" });
  if (to - from > MAX_SPAN_MS) throw new EdgeError("invalid_request", "query.to: at most 366 days after from", { field: "query.to" });
  const groupBy = [...new Set(q.group_by ? q.group_by.split(",") : [])] as UsageDimension[];
  const contract = c.get("contract");
  const [intervals, denials] = await Promise.all([
    c.env.DB.prepare(`SELECT r.collector_id, r.feature, r.user, r.host, r.start, r."end", r.count, u.units_num, u.session
      FROM records r LEFT JOIN interval_units u ON u.collector_id = r.collector_id AND u.seq = r.seq
      WHERE r.contract_id = ? AND r.kind = 'usage' AND r.quarantine IS NULL AND r.start < ? AND r."end" > ?`).bind(contract.id, to, from).all<UsageIntervalRow>(),
    c.env.DB.prepare(`SELECT collector_id, feature, user, host, ts FROM records
      WHERE contract_id = ? AND kind = 'denial' AND quarantine IS NULL AND ts >= ? AND ts < ?`).bind(contract.id, from, to).all<DenialRow>(),
  ]);
  return c.json({
    contract_id: contract.id, from: instant(from), to: instant(to), group_by: groupBy,
    rows: usageReport(intervals.results, denials.results, from, to, groupBy, contract.timezone),
  }, 200);
});
