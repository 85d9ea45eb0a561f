// Enrollment (DESIGN.md §4): a vendor asks for a one-time token for a contract
// (POST /v1/contracts/:id/enrollments); a collector trades it, with its public key, for a
// collector id and token (POST /v1/enroll). Tokens are single use, valid 7 days, stored hashed.
import { Hono } from "hono";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { jsonBody } from "../request-body.ts";
import { database } from "../db/database.ts";
import { contracts, enrollments as enrollmentTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { ownContract } from "../tenancy.ts";
import { hashSecret, newSecret } from "../auth/secrets.ts";
import { edgeKey } from "../auth/edge-key.ts";
import { contractStub, termsOf } from "../contract/stub.ts";

export const ENROLLMENT_TTL_MS = 7 * 24 * 3600 * 1000;

const enrollSchema = z.strictObject({
  enrollment_token: z.string().min(1).max(512),
  public_key: z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits (Ed25519 public key)"),
  site: z.string().min(1).max(256),
});

export const enrollments = new Hono<AppEnv>()
  .post("/contracts/:id/enrollments", vendorAuth(), bodyLimit(), async (c) => {
    const contract = await ownContract(database(c.env.DB), c.get("vendorId"), c.req.param("id"));
    const now = c.get("now");
    const token = newSecret("enrollment", c.env.TALLY_ENV === "production");
    const expiresAt = now + ENROLLMENT_TTL_MS;
    await database(c.env.DB).insert(enrollmentTable).values({
      id: newId("enr"), token_hash: hashSecret(token), contract_id: contract.id, vendor_id: contract.vendor_id, created_at: now, expires_at: expiresAt,
    }).run();
    return c.json({ enrollment_token: token, expires_at: instant(expiresAt) }, 201);
  })
  .post("/enroll", bodyLimit(), async (c) => {
    const input = await jsonBody(c, enrollSchema);
    const now = c.get("now");
    const tokenHash = hashSecret(input.enrollment_token);
    const collectorId = newId("col");
    const collectorToken = newSecret("collector", c.env.TALLY_ENV === "production");
    // One D1 batch (a transaction): the token is consumed if and only if the collector is created.
    const [claim] = await c.env.DB.batch([
      c.env.DB.prepare("UPDATE enrollments SET used_at = ?1, collector_id = ?2 WHERE token_hash = ?3 AND used_at IS NULL AND expires_at > ?1")
        .bind(now, collectorId, tokenHash),
      c.env.DB.prepare(`INSERT INTO collectors (id, contract_id, vendor_id, public_key, token_hash, site, enrolled_at)
        SELECT ?1, contract_id, vendor_id, ?2, ?3, ?4, ?5 FROM enrollments WHERE token_hash = ?6 AND collector_id = ?1`)
        .bind(collectorId, input.public_key, hashSecret(collectorToken), input.site, now, tokenHash),
    ]);
    if (!claim || claim.meta.changes !== 1) await refuseEnrollment(c.env.DB, tokenHash, now);

    const db = database(c.env.DB);
    const enrollment = (await db.select().from(enrollmentTable).where(eq(enrollmentTable.token_hash, tokenHash)).get())!;
    const contract = (await db.select().from(contracts).where(eq(contracts.id, enrollment.contract_id)).get())!;
    const terms = termsOf(contract);
    const stub = contractStub(c.env, contract.id);
    await stub.setup(terms);
    await stub.registerCollector({ collector_id: collectorId, public_key: input.public_key, site: input.site, enrolled_at: now });
    const { key_id, public_key } = edgeKey(c.env.EDGE_SIGNING_KEY);
    return c.json({
      collector_id: collectorId, contract_id: contract.id, edge_public_keys: [{ key_id, public_key }],
      collector_token: collectorToken, scope: terms.scope,
    }, 201);
  });

/** Says why a token did not enroll: never issued, already used, or expired. */
async function refuseEnrollment(d1: D1Database, tokenHash: string, now: number): Promise<never> {
  const row = await database(d1).select().from(enrollmentTable).where(eq(enrollmentTable.token_hash, tokenHash)).get();
  if (!row) throw new EdgeError("invalid_enrollment_token", "unknown enrollment token");
  if (row.used_at !== null) throw new EdgeError("enrollment_token_used", "this enrollment token was already used");
  if (row.expires_at <= now) throw new EdgeError("enrollment_token_expired", `this enrollment token expired at ${instant(row.expires_at)}`);
  throw new EdgeError("internal", "enrollment failed; retry");
}
