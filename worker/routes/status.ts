// GET /status/:token (anyone with the link): the customer's view of one contract
// (customer-status.ts), as JSON when `Accept` prefers it, else a small HTML page. Answers may be
// cached for a few seconds; an unknown or revoked token is a 404 in the same two forms, and a
// contract the edge cannot serve (`storage_too_new`) a 503 that tells the customer to ask the vendor.
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { and, eq, isNull } from "drizzle-orm";
import type { AppEnv } from "../env.ts";
import { edgeErrorOf, errorBody, EdgeError } from "../errors.ts";
import { database } from "../db/database.ts";
import { statusLinks } from "../db/schema.ts";
import { hashSecret } from "../auth/secrets.ts";
import { contractStub } from "../contract/stub.ts";
import { customerStatus } from "../customer-status.ts";
import { prefersJson } from "../content-negotiation.ts";
import { PAGE_HEADERS } from "../pages/layout.ts";
import { renderStatusNotFound, renderStatusPage, renderStatusUnavailable } from "../pages/status-page.ts";
import { apiRouter } from "../openapi/router.ts";
import { errorSchema } from "../openapi/schemas.ts";
import { customerStatusExample } from "../openapi/example-values.ts";

export const STATUS_CACHE_CONTROL = "public, max-age=5";

export const customerStatusSchema = z.object({
  as_of: z.string(), unit_name: z.string(),
  remaining_units: z.string().nullable().openapi({ description: "decimal string; null without a prepaid grant" }),
  granted_units: z.string().nullable(), status: z.string().nullable(),
  period: z.object({ start: z.string(), end: z.string(), start_date: z.string() }),
  usage: z.object({
    license_seconds: z.number().int(), units: z.string().nullable(),
    by_feature: z.array(z.object({
      feature: z.string(), license_seconds: z.number().int(), units: z.string().nullable(),
      draws: z.number().int().openapi({ description: "use windows opened or licenses checked out this period (draw rates); 0 for license-hours" }),
    })),
  }),
  stale: z.boolean(),
  sites: z.array(z.object({ site: z.string(), last_sync: z.string().nullable(), stale: z.boolean() })),
  enforcement: z.array(z.object({ site: z.string(), action: z.string(), features: z.array(z.string()), at: z.string(), result: z.string() }))
    .openapi({ description: "the latest changes sites made to their license managers (opt-in site-side enforcement), newest first, at most 10" }),
}).openapi("CustomerStatus");

const tokenParams = z.object({
  token: z.string().regex(/^ts_(live|test)_[A-Za-z0-9_-]{43}$/).openapi({ param: { name: "token", in: "path" } }),
});

function notFound(c: Context<AppEnv>): Response {
  const headers = { "Cache-Control": "no-store", Vary: "Accept" };
  if (prefersJson(c.req.header("Accept"))) return c.json(errorBody(new EdgeError("not_found", "no such status link")), 404, headers);
  return c.body(renderStatusNotFound(), 404, { ...PAGE_HEADERS, ...headers });
}

/** The contract's storage is newer than this build (`storage_too_new`). Said plainly, without the
 * API's storage versions: the customer can only pass it on to the vendor. */
function storageTooNew(c: Context<AppEnv>): Response {
  const error = new EdgeError("storage_too_new", "this status is unavailable until the vendor serves it with the newer Tally that last stored it, or restores their backup");
  const headers = { "Cache-Control": "no-store", Vary: "Accept" };
  if (prefersJson(c.req.header("Accept"))) return c.json(errorBody(error), error.status, headers);
  return c.body(renderStatusUnavailable(error.code), error.status, { ...PAGE_HEADERS, ...headers });
}

export const status = apiRouter({ lenientQuery: true }).openapi(createRoute({
  method: "get", path: "/{token}", tags: ["customer"], summary: "What is left, this period's use, each site's last sync",
  description: "No bearer: the token in the URL is the capability. JSON when `Accept` ranks application/json above text/html; otherwise an HTML page. `Cache-Control: public, max-age=5`.",
  request: { params: tokenParams },
  responses: {
    200: { description: "the status", content: { "application/json": { schema: customerStatusSchema, example: customerStatusExample }, "text/html": { schema: z.string() } } },
    404: { description: "unknown or revoked link", content: { "application/json": { schema: errorSchema, example: { error: "not_found", message: "no such status link" } }, "text/html": { schema: z.string() } } },
  },
}), async (c) => {
  const link = await database(c.env.DB).select({ contract_id: statusLinks.contract_id }).from(statusLinks)
    .where(and(eq(statusLinks.token_hash, hashSecret(c.req.valid("param").token)), isNull(statusLinks.revoked_at))).get();
  if (!link) return notFound(c);
  const stub = contractStub(c.env, link.contract_id);
  const read = await Promise.all([stub.balance(c.get("now")), stub.enforcement(10)]).catch((error: Error) => {
    if (edgeErrorOf(error)?.code === "storage_too_new") return undefined;
    throw error;
  });
  if (!read) return storageTooNew(c);
  const [balance, enforcement] = read;
  const view = customerStatus(balance, enforcement);
  const headers = { "Cache-Control": STATUS_CACHE_CONTROL, Vary: "Accept" };
  if (prefersJson(c.req.header("Accept"))) return c.json(view, 200, headers);
  return c.body(renderStatusPage(view), 200, { ...PAGE_HEADERS, ...headers });
}, (result, c) => (result.success ? undefined : notFound(c)));
