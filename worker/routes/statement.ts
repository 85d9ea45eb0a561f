// GET /v1/contracts/:id/statement[?period=YYYY-MM-DD] (vendor key): the open period's statement
// (or the one starting that day), JSON or CSV (`Accept: text/csv`); and
// GET …/statement/lines/:line_id/records: the records a line came from, paged (DESIGN.md §7).
// A closed period's statement is the frozen one, byte for byte. A period that has not started
// is 404; a date on which no period starts is 422 naming `query.period`.
import { createRoute, z } from "@hono/zod-openapi";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { contractStub } from "../contract/stub.ts";
import { unwrap, type LineRecord, type Result } from "../contract/billing-requests.ts";
import { instant } from "../instant.ts";
import { prefersCsv, statementCsv } from "../statement-csv.ts";
import { apiRouter } from "../openapi/router.ts";
import { idSchema, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { lineRecordsExample, statementCsvExample, statementExample } from "../openapi/example-values.ts";
import { DEFAULT_LIMIT, MAX_LIMIT } from "../pagination.ts";

const periodQuery = z.object({
  period: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, "a period start date YYYY-MM-DD").optional()
    .openapi({ param: { name: "period", in: "query" }, description: "start date of the period; default: the open one" }),
});

export const statementLineSchema = z.object({
  id: z.string(), kind: z.enum(["fixed_fee", "tier", "tier_flat_fee", "prepaid_usage", "overage", "adjustment", "commitment_true_up"]),
  description: z.string(), feature: z.string().optional(), tier: z.number().int().optional(), quantity: z.string(),
  unit_price: z.string().optional(), amount: z.string(), ref_period: z.string().optional(),
});

export const statementSchema = z.object({
  contract_id: z.string(), period: z.object({ start: z.string(), end: z.string(), start_date: z.string() }),
  state: z.enum(["open", "closed"]), currency: z.string(), lines: z.array(statementLineSchema), total: z.string(),
}).openapi("Statement");

const lineRecordSchema = z.object({
  collector_id: z.string(), seq: z.number().int(), kind: z.string(), received_at: z.string(), data: z.record(z.string(), z.unknown()),
}).openapi("LineRecord");

const contractParams = z.object({ id: idSchema("ctr").openapi({ param: { name: "id", in: "path" } }) });

export const statements = apiRouter()
  .openapi(createRoute({
    method: "get", path: "/{id}/statement", tags: ["vendor"], summary: "A period's statement (JSON, or CSV with Accept: text/csv)", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract()] as const,
    request: { params: contractParams, query: periodQuery },
    responses: {
      200: { description: "the statement", content: { "application/json": { schema: statementSchema, example: statementExample }, "text/csv": { schema: z.string(), example: statementCsvExample } } },
      ...vendorErrors(422),
    },
  }), async (c) => {
    const { period } = c.req.valid("query");
    const statement = unwrap(await contractStub(c.env, c.get("contract").id).statement(period, c.get("now")));
    if (prefersCsv(c.req.header("Accept"))) {
      return c.body(statementCsv(statement), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": `attachment; filename="statement-${statement.contract_id}-${statement.period.start_date}.csv"`,
      });
    }
    return c.json(statement, 200);
  })
  .openapi(createRoute({
    method: "get", path: "/{id}/statement/lines/{line_id}/records", tags: ["vendor"], summary: "The records a statement line came from", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract()] as const,
    request: {
      params: contractParams.extend({ line_id: z.string().min(1).max(512).openapi({ param: { name: "line_id", in: "path" } }) }),
      query: periodQuery.extend({
        limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT).openapi({ param: { name: "limit", in: "query" } }),
        cursor: z.string().regex(/^\d{1,9}$/, "a cursor from a previous page").optional().openapi({ param: { name: "cursor", in: "query" } }),
      }),
    },
    responses: { 200: jsonResponse("a page of records, by collector and seq", z.object({ items: z.array(lineRecordSchema), next_cursor: z.string().nullable() }), lineRecordsExample), ...vendorErrors(422) },
  }), async (c) => {
    const { period, limit, cursor } = c.req.valid("query");
    // The RPC return type loses `data: unknown`; it is the stored record's JSON data.
    const page = unwrap(await contractStub(c.env, c.get("contract").id)
      .lineRecords(period, c.req.valid("param").line_id, cursor === undefined ? 0 : Number(cursor), limit, c.get("now")) as Result<{ items: LineRecord[]; next: number | null }>);
    return c.json({
      items: page.items.map((r) => ({ ...r, received_at: instant(r.received_at), data: r.data as Record<string, unknown> })),
      next_cursor: page.next === null ? null : String(page.next),
    }, 200);
  });
