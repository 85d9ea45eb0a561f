// Routes under /v1/contracts/:id: resolves the vendor's contract named in the path before the
// request body is validated, so another vendor's contract id answers 404 whatever the body
// (a 422 would confirm nothing, but one answer for "not yours" keeps tenancy easy to test).
// Must run after vendorAuth; sets `contract`.
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { database } from "../db/database.ts";
import { ownContract } from "../tenancy.ts";

export function ownedContract(param = "id"): MiddlewareHandler<AppEnv> {
  return async function ownedContract(c, next) {
    c.set("contract", await ownContract(database(c.env.DB), c.get("vendorId"), c.req.param(param) ?? ""));
    await next();
  };
}
