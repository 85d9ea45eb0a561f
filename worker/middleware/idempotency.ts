// `Idempotency-Key` on creating POSTs (DESIGN.md §7): the same key with the same request returns
// the stored answer; with another request it is a 409 `idempotency_conflict`. The key is claimed
// in D1 before the handler runs, so two concurrent requests cannot both create; only successful
// (2xx) answers are kept, so a request that failed can be retried with its key. Keys are scoped
// (per vendor by default; see `IdempotencyScope`), stored hashed, and answers stored sealed
// (auth/answer-seal.ts), so answers that carry a secret can be replayed too.
//
// Lifetimes, measured on the request clock (`now`, injectable in tests): a key and its answer are
// kept KEY_TTL_MS (24 h) — after that the key is new again, whatever it answered; a claim that
// never got an answer (its request died: a crash, a timeout, an evicted isolate) is released after
// CLAIM_TTL_MS (60 s) instead of answering 409 `idempotency_in_progress` forever. Taking over a
// claim is one conditional upsert, so two retries cannot both win it; each claim carries a random
// token, so the request it was taken from cannot overwrite or delete its successor's row. Old rows
// are swept a few at a time by later claims.
// Must run after the route's authentication: the default scope is the vendor.
import type { Context, MiddlewareHandler } from "hono";
import { and, eq, sql } from "drizzle-orm";
import { sha256Hex } from "../../shared/protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { requireEdgeKeys } from "../auth/edge-key.ts";
import { database } from "../db/database.ts";
import { idempotencyKeys } from "../db/schema.ts";
import { openAnswer, sealAnswer } from "../auth/answer-seal.ts";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";
export const KEY_TTL_MS = 24 * 3_600_000;
export const CLAIM_TTL_MS = 60_000;
/** Expired rows deleted per claim: bounded work, and the table stops growing. */
const SWEEP_ROWS = 20;

/** Whose keys these are; undefined → the request is not idempotent (e.g. a body too broken to scope). */
export type IdempotencyScope = (c: Context<AppEnv>) => string | undefined | Promise<string | undefined>;

const byVendor: IdempotencyScope = (c) => `vendor:${c.get("vendorId")}`;

export function idempotency(scopeOf: IdempotencyScope = byVendor): MiddlewareHandler<AppEnv> {
  return async function idempotency(c, next) {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined) return next();
    if (!/^[!-~]{1,255}$/.test(key)) throw new EdgeError("invalid_request", `${IDEMPOTENCY_HEADER} must be 1–255 printable ASCII characters`, { field: IDEMPOTENCY_HEADER });
    const scope = await scopeOf(c);
    if (scope === undefined) return next();

    const db = database(c.env.DB);
    const now = c.get("now");
    const encoder = new TextEncoder();
    const keyHash = sha256Hex(encoder.encode(key));
    const requestHash = sha256Hex(encoder.encode(`${c.req.method} ${c.req.path}\n${await c.req.text()}`));
    const claim = crypto.randomUUID();
    const ours = and(eq(idempotencyKeys.vendor_id, scope), eq(idempotencyKeys.key, keyHash), eq(idempotencyKeys.claim, claim));

    // A new key, an expired one, or a claim whose request died: ours now.
    const claimed = await db.insert(idempotencyKeys)
      .values({ vendor_id: scope, key: keyHash, request_hash: requestHash, status: null, response_json: null, created_at: now, claim })
      .onConflictDoUpdate({
        target: [idempotencyKeys.vendor_id, idempotencyKeys.key],
        set: { request_hash: requestHash, status: null, response_json: null, created_at: now, claim },
        setWhere: sql`${idempotencyKeys.created_at} <= ${now - KEY_TTL_MS} OR (${idempotencyKeys.status} IS NULL AND ${idempotencyKeys.created_at} <= ${now - CLAIM_TTL_MS})`,
      }).run();
    if (claimed.meta.changes === 0) {
      const stored = await db.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.vendor_id, scope), eq(idempotencyKeys.key, keyHash))).get();
      if (!stored || stored.request_hash !== requestHash) {
        throw new EdgeError("idempotency_conflict", `${IDEMPOTENCY_HEADER} was already used with another request`);
      }
      if (stored.status === null || stored.response_json === null) {
        throw new EdgeError("idempotency_in_progress", "the first request with this key is still running; retry later");
      }
      // Sealed under the key current when it was answered: after a rotation, a previous one.
      const keys = requireEdgeKeys(c.env);
      let answer: string | undefined;
      for (const seed of [c.env.EDGE_SIGNING_KEY, ...keys.previous.map((k) => k.secret_key)]) {
        answer ??= await openAnswer(seed, key, scope, stored.response_json);
      }
      if (answer === undefined) {
        // Under a revoked (leaked) key the stored answer may be the thief's, sealed to say what
        // they like (an enrollment naming their key): never replayed, whatever it says.
        for (const k of keys.revoked) {
          if (await openAnswer(k.secret_key, key, scope, stored.response_json) !== undefined) {
            throw new EdgeError("idempotency_conflict", `the answer stored for this key was sealed under the revoked edge key ${k.key_id}; use a new key`);
          }
        }
        throw new EdgeError("idempotency_conflict", "the answer stored for this key can no longer be read; use a new key");
      }
      return c.newResponse(answer, stored.status as 200, { "Content-Type": "application/json", "Idempotent-Replayed": "true" });
    }
    await c.env.DB.prepare("DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE created_at <= ? LIMIT ?)")
      .bind(now - KEY_TTL_MS, SWEEP_ROWS).run();

    try {
      await next();
    } finally {
      if (c.res.status >= 200 && c.res.status < 300 && !c.error) {
        const sealed = await sealAnswer(c.env.EDGE_SIGNING_KEY, key, scope, await c.res.clone().text());
        await db.update(idempotencyKeys).set({ status: c.res.status, response_json: sealed }).where(ours).run();
      } else {
        await db.delete(idempotencyKeys).where(ours).run();
      }
    }
  };
}
