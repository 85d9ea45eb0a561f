// Enrollment (DESIGN.md §4): a vendor asks for a one-time token for a contract
// (POST /v1/contracts/:id/enrollments); a collector trades it, with its public key, for a
// collector id and token (POST /v1/enroll). Tokens are single use, valid 7 days, stored hashed.
// Both honour Idempotency-Key (answers sealed, auth/answer-seal.ts); /v1/enroll scopes keys by
// the enrollment token, so a collector that lost the answer can retry and get its token again.
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { EdgeError } from "../errors.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency, type IdempotencyScope } from "../middleware/idempotency.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { database } from "../db/database.ts";
import { contracts, enrollments as enrollmentTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { instant } from "../instant.ts";
import { hashSecret, newSecret } from "../auth/secrets.ts";
import { edgeKey } from "../auth/edge-key.ts";
import { contractStub, termsOf } from "../contract/stub.ts";
import { sendScope } from "../contract/plan-versions.ts";
import { apiRouter } from "../openapi/router.ts";
import {
  errorResponses, idempotencyHeaderSchema, idParams, idSchema, jsonBody, jsonResponse, vendorErrors, vendorSecurity,
} from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";
import { isProduction } from "../env.ts";

export const ENROLLMENT_TTL_MS = 7 * 24 * 3600 * 1000;

const enrollSchema = z.strictObject({
  enrollment_token: z.string().min(1).max(512),
  public_key: z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits (Ed25519 public key)"),
  site: z.string().min(1).max(256),
});

const enrollmentSchema = z.object({
  enrollment_token: z.string().openapi({ description: "single use, shown only in this answer" }), expires_at: z.string(),
}).openapi("Enrollment");

const enrolledSchema = z.object({
  collector_id: idSchema("col"), contract_id: idSchema("ctr"),
  edge_public_keys: z.array(z.object({ key_id: z.string(), public_key: z.string() })),
  collector_token: z.string(),
  scope: z.array(z.object({ daemon: z.string(), features: z.array(z.string()) })).nullable(),
}).openapi("Enrolled");

/** Keys of /v1/enroll belong to the enrollment token; a body without one is not idempotent (it fails validation). */
const byEnrollmentToken: IdempotencyScope = async (c) => {
  try {
    const token = (JSON.parse(await c.req.text()) as { enrollment_token?: unknown }).enrollment_token;
    return typeof token === "string" ? `enroll:${hashSecret(token)}` : undefined;
  } catch {
    return undefined;
  }
};

export const enrollments = apiRouter()
  .openapi(createRoute({
    method: "post", path: "/contracts/{id}/enrollments", tags: ["vendor"], summary: "A one-time enrollment token for a new site", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract(), bodyLimit(), idempotency()] as const,
    request: { params: idParams("ctr"), headers: idempotencyHeaderSchema },
    responses: { 201: jsonResponse("the token, valid 7 days", enrollmentSchema, { enrollment_token: "te_test_3nQ8xV2bLk9Rz4Wc7Yp1Ma6Td0Hs5Jf8Gu2Ei9Ko3Ql", expires_at: "2026-12-04T10:00:00Z" }), ...vendorErrors(409) },
  }), async (c) => {
    const contract = c.get("contract");
    const now = c.get("now");
    const token = newSecret("enrollment", isProduction(c.env));
    const expiresAt = now + ENROLLMENT_TTL_MS;
    await database(c.env.DB).insert(enrollmentTable).values({
      id: newId("enr"), token_hash: hashSecret(token), contract_id: contract.id, vendor_id: contract.vendor_id, created_at: now, expires_at: expiresAt,
    }).run();
    return c.json({ enrollment_token: token, expires_at: instant(expiresAt) }, 201);
  })
  .openapi(createRoute({
    method: "post", path: "/enroll", tags: ["collector"], summary: "Trade an enrollment token for a collector id and token",
    description: "No bearer: the single-use enrollment token in the body authenticates.",
    middleware: [bodyLimit(), idempotency(byEnrollmentToken)] as const,
    request: { headers: idempotencyHeaderSchema, ...jsonBody(enrollSchema, { example: { enrollment_token: "te_test_3nQ8xV2bLk9Rz4Wc7Yp1Ma6Td0Hs5Jf8Gu2Ei9Ko3Ql", public_key: ex.collectorPublicKey, site: "Acme Plant 3" } }) },
    responses: { 201: jsonResponse("the collector's identity and token", enrolledSchema, {
      collector_id: ex.collector, contract_id: ex.contract, edge_public_keys: [{ key_id: ex.edgeKeyId, public_key: ex.edgePublicKey }],
      collector_token: "tc_test_Zp4Lm8Qw2Rt6Yu0Io9Pa3Sd7Fg1Hj5Kl2Xc6Vb0Nm4", scope: null,
    }), ...errorResponses(400, 401, 409, 410, 413, 415, 422) },
  }), async (c) => {
    const input = c.req.valid("json");
    const now = c.get("now");
    const tokenHash = hashSecret(input.enrollment_token);
    const collectorId = newId("col");
    const collectorToken = newSecret("collector", isProduction(c.env));
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
    // What the site must send: every plan version's scope, as the contract doc's terms.scope — a site
    // drops what its scope leaves out, and one backfilling before a plan change needs the older scope.
    const scope = sendScope(await stub.planVersions());
    const { key_id, public_key } = edgeKey(c.env.EDGE_SIGNING_KEY);
    return c.json({
      collector_id: collectorId, contract_id: contract.id, edge_public_keys: [{ key_id, public_key }],
      collector_token: collectorToken, scope,
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
