// POST /v1/vendors (operator): creates a vendor and its first API key, shown only in this answer.
// Idempotency-Key is honoured (scope: the operator); the stored answer is sealed (auth/answer-seal.ts).
import { createRoute, z } from "@hono/zod-openapi";
import { adminAuth } from "../middleware/admin-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { database } from "../db/database.ts";
import { apiKeys, vendors as vendorTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { hashSecret, newSecret } from "../auth/secrets.ts";
import { instant } from "../instant.ts";
import { apiRouter } from "../openapi/router.ts";
import { errorResponses, idempotencyHeaderSchema, idSchema, jsonBody, jsonResponse, operatorSecurity } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";
import { isProduction } from "../env.ts";

const createVendor = z.strictObject({ name: z.string().min(1).max(256) });

const createdVendorSchema = z.object({
  id: idSchema("ven"), name: z.string(),
  api_key: z.string().openapi({ description: "shown only in this answer (and its idempotent replays)" }),
  created_at: z.string(),
}).openapi("CreatedVendor");

export const vendors = apiRouter().openapi(createRoute({
  method: "post", path: "/", tags: ["operator"], summary: "Create a vendor and its first API key", security: operatorSecurity,
  middleware: [adminAuth(), bodyLimit(), idempotency(() => "operator")] as const,
  request: { headers: idempotencyHeaderSchema, ...jsonBody(createVendor, { example: { name: "Demo Simulation Software Inc." } }) },
  responses: { 201: jsonResponse("the vendor, with its API key", createdVendorSchema, { id: ex.vendor, name: "Demo Simulation Software Inc.", api_key: "tk_test_Wq3v0Jc6yq8kq1m1bqgQ7nQ2YxqkR7o5w1Ns0b7cX4E", created_at: ex.created }), ...errorResponses(400, 401, 409, 413, 415, 422) },
}), async (c) => {
  const { name } = c.req.valid("json");
  const now = c.get("now");
  const id = newId("ven");
  const apiKey = newSecret("api_key", isProduction(c.env));
  const db = database(c.env.DB);
  await db.batch([
    db.insert(vendorTable).values({ id, name, created_at: now }),
    db.insert(apiKeys).values({ id: newId("key"), vendor_id: id, key_hash: hashSecret(apiKey), created_at: now, name: "first key" }),
  ]);
  return c.json({ id, name, api_key: apiKey, created_at: instant(now) }, 201);
});
