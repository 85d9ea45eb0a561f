// `Idempotency-Key` on creating POSTs (DESIGN.md §7): the same key with the same request returns
// the stored answer; with another request it is a 409 `idempotency_conflict`. The key is claimed
// in D1 before the handler runs, so two concurrent requests cannot both create; only successful
// (2xx) answers are kept, so a request that failed can be retried with its key.
// Must run after vendorAuth: keys are scoped per vendor.
import type { MiddlewareHandler } from "hono";
import { and, eq } from "drizzle-orm";
import { sha256Hex } from "../../shared/protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { database } from "../db/database.ts";
import { idempotencyKeys } from "../db/schema.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

export function idempotency(): MiddlewareHandler<AppEnv> {
  return async function idempotency(c, next) {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined) return next();
    if (!/^[!-~]{1,255}$/.test(key)) throw new EdgeError("invalid_request", `${IDEMPOTENCY_HEADER} must be 1–255 printable ASCII characters`, { field: IDEMPOTENCY_HEADER });

    const db = database(c.env.DB);
    const vendorId = c.get("vendorId");
    const requestHash = sha256Hex(new TextEncoder().encode(`${c.req.method} ${c.req.path}\n${await c.req.text()}`));
    const where = and(eq(idempotencyKeys.vendor_id, vendorId), eq(idempotencyKeys.key, key));

    const claim = await db.insert(idempotencyKeys)
      .values({ vendor_id: vendorId, key, request_hash: requestHash, status: null, response_json: null, created_at: c.get("now") })
      .onConflictDoNothing().run();
    if (claim.meta.changes === 0) {
      const stored = await db.select().from(idempotencyKeys).where(where).get();
      if (!stored || stored.request_hash !== requestHash) {
        throw new EdgeError("idempotency_conflict", `${IDEMPOTENCY_HEADER} was already used with another request`);
      }
      if (stored.status === null || stored.response_json === null) {
        throw new EdgeError("idempotency_in_progress", "the first request with this key is still running; retry later");
      }
      return c.newResponse(stored.response_json, stored.status as 200, { "Content-Type": "application/json", "Idempotent-Replayed": "true" });
    }

    try {
      await next();
    } finally {
      if (c.res.status >= 200 && c.res.status < 300 && !c.error) {
        await db.update(idempotencyKeys).set({ status: c.res.status, response_json: await c.res.clone().text() }).where(where).run();
      } else {
        await db.delete(idempotencyKeys).where(where).run();
      }
    }
  };
}
