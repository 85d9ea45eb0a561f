// Status links (vendor key): POST /v1/contracts/:id/status-links → `{id, url, token}` (the token
// is shown only here and stored hashed), GET /v1/contracts/:id/status-links (no tokens),
// DELETE /v1/status-links/:id (revoke: the page answers 404 from the next request; shared caches
// may still serve a copy for its max-age of a few seconds).
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { EdgeError } from "../errors.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { optionalJsonBody } from "../middleware/json-content.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { database } from "../db/database.ts";
import { statusLinks } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { page } from "../pagination.ts";
import { hashSecret, newSecret } from "../auth/secrets.ts";
import { apiRouter } from "../openapi/router.ts";
import {
  idempotencyHeaderSchema, idParams, idSchema, jsonBody, jsonResponse, pageQuerySchema, pageSchema, vendorErrors, vendorSecurity,
} from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";
import { isProduction } from "../env.ts";

const createLink = z.strictObject({ name: z.string().min(1).max(256).optional().openapi({ description: "the vendor's label, never shown to the customer" }) });

export const statusLinkSchema = z.object({
  id: idSchema("stl"), contract_id: idSchema("ctr"), name: z.string().nullable(), created_at: z.string(), revoked_at: z.string().nullable(),
}).openapi("StatusLink");

const createdLinkSchema = statusLinkSchema.extend({
  url: z.string().openapi({ description: "absolute URL of GET /status/{token}, on the origin the request came to", example: "https://edge.example.com/status/ts_live_…" }),
  token: z.string().openapi({ description: "the capability (≥ 256 random bits), shown only in this answer" }),
}).openapi("CreatedStatusLink");

function presentLink(row: typeof statusLinks.$inferSelect): z.infer<typeof statusLinkSchema> {
  return {
    id: row.id, contract_id: row.contract_id, name: row.name, created_at: instant(row.created_at),
    revoked_at: row.revoked_at === null ? null : instant(row.revoked_at),
  };
}

const linkExample = { id: ex.statusLink, contract_id: ex.contract, name: "Acme customer portal", created_at: ex.created, revoked_at: null };

export const statusLinkRoutes = apiRouter()
  .openapi(createRoute({
    method: "post", path: "/contracts/{id}/status-links", tags: ["vendor"], summary: "Create a status link for the customer", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract(), bodyLimit(), optionalJsonBody(), idempotency()] as const,
    request: { params: idParams("ctr"), headers: idempotencyHeaderSchema, ...jsonBody(createLink, { required: false, example: { name: "Acme customer portal" } }) },
    responses: { 201: jsonResponse("the link, with its URL and token", createdLinkSchema, { ...linkExample, url: "https://tally.example.com/status/ts_live_Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9r", token: "ts_live_Ab3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1eF3hJ5kL7nP9r" }), ...vendorErrors(400, 409, 413, 415, 422) },
  }), async (c) => {
    const input = c.req.valid("json");
    const token = newSecret("status_link", isProduction(c.env));
    const row: typeof statusLinks.$inferSelect = {
      id: newId("stl"), vendor_id: c.get("vendorId"), contract_id: c.get("contract").id, token_hash: hashSecret(token),
      name: input.name ?? null, created_at: c.get("now"), revoked_at: null,
    };
    await database(c.env.DB).insert(statusLinks).values(row).run();
    const url = new URL(`/status/${token}`, new URL(c.req.url).origin).toString();
    return c.json({ ...presentLink(row), url, token }, 201);
  })
  .openapi(createRoute({
    method: "get", path: "/contracts/{id}/status-links", tags: ["vendor"], summary: "List a contract's status links (without tokens)", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract()] as const,
    request: { params: idParams("ctr"), query: pageQuerySchema("stl") },
    responses: { 200: jsonResponse("a page of links, revoked ones included", pageSchema(statusLinkSchema), { items: [linkExample], next_cursor: null }), ...vendorErrors(422) },
  }), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const ofContract = eq(statusLinks.contract_id, c.get("contract").id);
    const rows = await database(c.env.DB).select().from(statusLinks)
      .where(cursor ? and(ofContract, gt(statusLinks.id, cursor)) : ofContract)
      .orderBy(asc(statusLinks.id)).limit(limit + 1).all();
    return c.json(page(rows, limit, presentLink), 200);
  })
  .openapi(createRoute({
    method: "delete", path: "/status-links/{id}", tags: ["vendor"], summary: "Revoke a status link (revoking again changes nothing)", security: vendorSecurity,
    middleware: [vendorAuth()] as const,
    request: { params: idParams("stl") },
    responses: { 200: jsonResponse("the revoked link", statusLinkSchema, { ...linkExample, revoked_at: ex.now }), ...vendorErrors() },
  }), async (c) => {
    const { id } = c.req.valid("param");
    const db = database(c.env.DB);
    const mine = and(eq(statusLinks.id, id), eq(statusLinks.vendor_id, c.get("vendorId")));
    await c.env.DB.prepare("UPDATE status_links SET revoked_at = ?1 WHERE id = ?2 AND vendor_id = ?3 AND revoked_at IS NULL")
      .bind(c.get("now"), id, c.get("vendorId")).run();
    const row = await db.select().from(statusLinks).where(mine).get();
    if (!row) throw new EdgeError("not_found", `no status link ${id}`);
    return c.json(presentLink(row), 200);
  });
