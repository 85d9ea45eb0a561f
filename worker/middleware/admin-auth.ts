// Operator endpoints: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { secretsEqual } from "../auth/secrets.ts";
import { bearerToken } from "../auth/bearer.ts";

export function adminAuth(): MiddlewareHandler<AppEnv> {
  return async function adminAuth(c, next) {
    const token = bearerToken(c.req.header("Authorization"));
    if (!c.env.ADMIN_TOKEN || token === undefined || !secretsEqual(token, c.env.ADMIN_TOKEN)) {
      throw new EdgeError("unauthorized", "operator token required");
    }
    await next();
  };
}
