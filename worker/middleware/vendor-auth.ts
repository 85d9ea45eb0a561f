// Vendor endpoints: `Authorization: Bearer <api key>`; sets `vendorId`. Keys are looked up by
// their SHA-256 hash, so the stored value never has to be compared with the secret itself.
import type { MiddlewareHandler } from "hono";
import { and, eq, isNull } from "drizzle-orm";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { bearerToken } from "../auth/bearer.ts";
import { hashSecret } from "../auth/secrets.ts";
import { database } from "../db/database.ts";
import { apiKeys } from "../db/schema.ts";

export function vendorAuth(): MiddlewareHandler<AppEnv> {
  return async function vendorAuth(c, next) {
    const token = bearerToken(c.req.header("Authorization"));
    if (token === undefined) throw new EdgeError("unauthorized", "API key required (Authorization: Bearer …)");
    const key = await database(c.env.DB).select({ vendor_id: apiKeys.vendor_id }).from(apiKeys)
      .where(and(eq(apiKeys.key_hash, hashSecret(token)), isNull(apiKeys.revoked_at))).get();
    if (!key) throw new EdgeError("unauthorized", "unknown or revoked API key");
    c.set("vendorId", key.vendor_id);
    await next();
  };
}
