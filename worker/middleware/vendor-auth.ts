// Vendor endpoints: `Authorization: Bearer <api key>`; sets `vendorId` and `apiKeyId`. Keys are
// looked up by their SHA-256 hash, so the stored value never has to be compared with the secret
// itself; a revoked key is unknown from the moment it is revoked. A read-only key may only read:
// any other method answers 403 `read_only_key`, whatever the route. The vendor console's
// in-process calls come with a grant instead of a key (auth/in-process-grant.ts).
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { bearerToken } from "../auth/bearer.ts";
import { hashSecret } from "../auth/secrets.ts";
import { database, queries } from "../db/database.ts";
import { inProcessGrant } from "../auth/in-process-grant.ts";

const READ_METHODS = new Set(["GET", "HEAD"]);

export function vendorAuth(): MiddlewareHandler<AppEnv> {
  return async function vendorAuth(c, next) {
    const granted = inProcessGrant(c.req.raw);
    if (granted) {
      if (granted.readOnly && !READ_METHODS.has(c.req.method)) throw new EdgeError("read_only_key", "this API key is read-only");
      c.set("vendorId", granted.vendorId);
      c.set("apiKeyId", granted.apiKeyId);
      return next();
    }
    const token = bearerToken(c.req.header("Authorization"));
    if (token === undefined) throw new EdgeError("unauthorized", "API key required (Authorization: Bearer …)");
    const key = await queries(database(c.env.DB)).apiKeyByHash.get({ hash: hashSecret(token) });
    if (!key) throw new EdgeError("unauthorized", "unknown or revoked API key");
    if (key.read_only && !READ_METHODS.has(c.req.method)) throw new EdgeError("read_only_key", "this API key is read-only");
    c.set("vendorId", key.vendor_id);
    c.set("apiKeyId", key.id);
    await next();
  };
}
