// POST/GET /v1/api-keys, DELETE /v1/api-keys/:id (vendor key): more keys for the vendor,
// optionally read-only, and revocation. A key's secret is shown once (stored as SHA-256); a
// revoked key answers 401 from its next request. The vendor's last full-access key cannot be
// revoked (409 `last_full_access_key`): there is no other way back in but the operator.
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { EdgeError } from "../errors.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { optionalJsonBody } from "../middleware/json-content.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { database } from "../db/database.ts";
import { apiKeys } from "../db/schema.ts";
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

const createKey = z.strictObject({
  name: z.string().min(1).max(256).optional(),
  read_only: z.boolean().optional().openapi({ description: "a read-only key may only GET; default false" }),
});

export const apiKeySchema = z.object({
  id: idSchema("key"), name: z.string().nullable(), read_only: z.boolean(), created_at: z.string(), revoked_at: z.string().nullable(),
}).openapi("ApiKey");

const createdKeySchema = apiKeySchema.extend({
  api_key: z.string().openapi({ description: "the secret, shown only in this answer (and its idempotent replays)" }),
}).openapi("CreatedApiKey");

function presentKey(row: typeof apiKeys.$inferSelect): z.infer<typeof apiKeySchema> {
  return {
    id: row.id, name: row.name, read_only: row.read_only === 1, created_at: instant(row.created_at),
    revoked_at: row.revoked_at === null ? null : instant(row.revoked_at),
  };
}

const keyExample = { id: ex.apiKey, name: "billing export", read_only: true, created_at: ex.created, revoked_at: null };

export const apiKeyRoutes = apiRouter()
  .openapi(createRoute({
    method: "post", path: "/", tags: ["vendor"], summary: "Create an API key (optionally read-only)", security: vendorSecurity,
    middleware: [vendorAuth(), bodyLimit(), optionalJsonBody(), idempotency()] as const,
    request: { headers: idempotencyHeaderSchema, ...jsonBody(createKey, { required: false, example: { name: "billing export", read_only: true } }) },
    responses: { 201: jsonResponse("the key, with its secret", createdKeySchema, { ...keyExample, api_key: "tk_test_h2Jd9Qv0x8Lr4bYc1sKq7Wm3Zt6Np5Ua0Ge2Fo9Ri8" }), ...vendorErrors(400, 409, 413, 415, 422) },
  }), async (c) => {
    const input = c.req.valid("json");
    const secret = newSecret("api_key", isProduction(c.env));
    const row: typeof apiKeys.$inferSelect = {
      id: newId("key"), vendor_id: c.get("vendorId"), key_hash: hashSecret(secret), created_at: c.get("now"), revoked_at: null,
      name: input.name ?? null, read_only: input.read_only ? 1 : 0,
    };
    await database(c.env.DB).insert(apiKeys).values(row).run();
    return c.json({ ...presentKey(row), api_key: secret }, 201);
  })
  .openapi(createRoute({
    method: "get", path: "/", tags: ["vendor"], summary: "List API keys (never their secrets)", security: vendorSecurity,
    middleware: [vendorAuth()] as const,
    request: { query: pageQuerySchema("key") },
    responses: { 200: jsonResponse("a page of keys, revoked ones included", pageSchema(apiKeySchema), { items: [keyExample], next_cursor: null }), ...vendorErrors(422) },
  }), async (c) => {
    const { limit, cursor } = c.req.valid("query");
    const mine = eq(apiKeys.vendor_id, c.get("vendorId"));
    const rows = await database(c.env.DB).select().from(apiKeys)
      .where(cursor ? and(mine, gt(apiKeys.id, cursor)) : mine)
      .orderBy(asc(apiKeys.id)).limit(limit + 1).all();
    return c.json(page(rows, limit, presentKey), 200);
  })
  .openapi(createRoute({
    method: "delete", path: "/{id}", tags: ["vendor"], summary: "Revoke an API key (at once; revoking again changes nothing)", security: vendorSecurity,
    middleware: [vendorAuth()] as const,
    request: { params: idParams("key") },
    responses: { 200: jsonResponse("the revoked key", apiKeySchema, { ...keyExample, revoked_at: ex.now }), ...vendorErrors(409) },
  }), async (c) => {
    const { id } = c.req.valid("param");
    const vendorId = c.get("vendorId");
    // One statement, so two concurrent revocations cannot remove the last two full-access keys.
    await c.env.DB.prepare(`UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND vendor_id = ?3 AND revoked_at IS NULL
      AND (read_only = 1 OR EXISTS (SELECT 1 FROM api_keys WHERE vendor_id = ?3 AND id != ?2 AND revoked_at IS NULL AND read_only = 0))`)
      .bind(c.get("now"), id, vendorId).run();
    const row = await database(c.env.DB).select().from(apiKeys).where(and(eq(apiKeys.id, id), eq(apiKeys.vendor_id, vendorId))).get();
    if (!row) throw new EdgeError("not_found", `no API key ${id}`);
    if (row.revoked_at === null) throw new EdgeError("last_full_access_key", "this is the vendor's last full-access key; create another before revoking it");
    return c.json(presentKey(row), 200);
  });
