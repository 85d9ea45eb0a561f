// Moving a site with its history to another edge (docs/self-hosting.md "Moving between edges"):
//   GET /v1/contracts/:id/collectors/:cid/history?after_seq=N   the source: one page of the site's
//       batches as a `tally-bundle/v1` document (each batch's records with the checkpoint and
//       signature the site sent), with when this edge received each; from `replayable_from` on
//       (batches accepted before the edge kept checkpoints cannot be replayed)
//   PUT /v1/contracts/:id/collectors/:cid                       the target: registers the site under
//       the same id and public key, expecting its history up to `history_to_seq`; answers a new
//       collector_token (the target's own) when it creates the site
// Then each page is posted to the target unchanged (`POST …/collectors/:cid/replay`, bundles.ts),
// and the site continues its own chain against the target.
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { idempotency } from "../middleware/idempotency.ts";
import { database } from "../db/database.ts";
import { collectors } from "../db/schema.ts";
import { EdgeError } from "../errors.ts";
import { hashSecret, newSecret } from "../auth/secrets.ts";
import { edgeKey } from "../auth/edge-key.ts";
import { contractStub, termsOf } from "../contract/stub.ts";
import type { HistoryPage } from "../contract/checkpoints.ts";
import { BUNDLE_FORMAT } from "../../shared/protocol/index.ts";
import { apiRouter } from "../openapi/router.ts";
import { idempotencyHeaderSchema, idSchema, jsonBody, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { batchExample, ex } from "../openapi/example-values.ts";
import { isProduction } from "../env.ts";

const siteParams = z.object({
  id: idSchema("ctr").openapi({ param: { name: "id", in: "path" } }),
  cid: idSchema("col").openapi({ param: { name: "cid", in: "path" } }),
});

const historySchema = z.object({
  collector_id: idSchema("col"),
  replayable_from: z.number().int().openapi({ description: "the first seq whose batch this edge can hand over (its hwm + 1 when none: history received before the edge kept checkpoints)" }),
  hwm: z.number().int(),
  bundle: z.object({ format: z.literal(BUNDLE_FORMAT), collector_id: idSchema("col"), batches: z.array(z.unknown()) })
    .openapi({ description: "a `tally-bundle/v1` document: `POST /v1/collectors/{cid}/bundles` on another edge accepts it unchanged (received there and then)" }),
  received_at_ms: z.array(z.number().int()).openapi({ description: "when this edge received each batch (ms)" }),
  next_after_seq: z.number().int().nullable().openapi({ description: "`after_seq` for the next page; null on the last" }),
}).openapi("SiteHistory");

const registerSchema = z.strictObject({
  public_key: z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits (Ed25519 public key)").openapi({ description: "the key the site enrolled with (its chain's later keys are `key_rotation` records)" }),
  site: z.string().min(1).max(256),
  history_to_seq: z.number().int().min(0).default(0).openapi({ description: "the seq the site's history runs to on the source: no period is frozen here until the site's chain reaches it (0: none expected; also clears a pending import)" }),
});

const registeredSchema = z.object({
  collector_id: idSchema("col"), contract_id: idSchema("ctr"),
  edge_public_keys: z.array(z.object({ key_id: z.string(), public_key: z.string() })),
  collector_token: z.string().nullable().openapi({ description: "this edge's token for the site, only in the answer that created it (201)" }),
  acked_seq: z.number().int(), history_to_seq: z.number().int().nullable(),
}).openapi("RegisteredSite");

export const siteHistory = apiRouter()
  .openapi(createRoute({
    method: "get", path: "/{id}/collectors/{cid}/history", tags: ["vendor"], summary: "A page of a site's history as replayable batches", security: vendorSecurity,
    middleware: [vendorAuth(), ownedContract()] as const,
    request: {
      params: siteParams,
      query: z.object({ after_seq: z.coerce.number().int().min(0).default(0).openapi({ param: { name: "after_seq", in: "query" }, description: "the previous page's `next_after_seq` (0: from the start)" }) }),
    },
    responses: { 200: jsonResponse("one page (at most ~4 MiB of records)", historySchema, {
      collector_id: ex.collector, replayable_from: 1, hwm: 120, bundle: { format: BUNDLE_FORMAT, collector_id: ex.collector, batches: [batchExample] },
      received_at_ms: [1796032800000], next_after_seq: null,
    }), ...vendorErrors(422) },
  }), async (c) => {
    const contract = c.get("contract");
    const { cid } = c.req.valid("param");
    // The RPC stub's type cannot express a record's open `data` (it becomes `never`): the DO's type.
    const page = await contractStub(c.env, contract.id).history(cid, c.req.valid("query").after_seq) as unknown as HistoryPage | undefined;
    if (!page) throw new EdgeError("not_found", `no collector ${cid} in contract ${contract.id}`);
    return c.json({
      collector_id: cid, replayable_from: page.replayable_from, hwm: page.hwm,
      bundle: { format: BUNDLE_FORMAT as typeof BUNDLE_FORMAT, collector_id: cid, batches: page.batches as unknown as never[] }, received_at_ms: page.received_at, next_after_seq: page.next_after_seq,
    }, 200);
  })
  .openapi(createRoute({
    method: "put", path: "/{id}/collectors/{cid}", tags: ["vendor"], summary: "Register a site moved from another edge (same id and key)", security: vendorSecurity,
    description: "Idempotent: the same id, key and site answer 200 (and set `history_to_seq` again); the id with another key or site name, or in another contract, is 409 `collector_exists`.",
    middleware: [vendorAuth(), ownedContract(), bodyLimit(), idempotency()] as const,
    request: {
      params: siteParams, headers: idempotencyHeaderSchema,
      ...jsonBody(registerSchema, { example: { public_key: ex.collectorPublicKey, site: "Acme Plant 3", history_to_seq: 120 } }),
    },
    responses: {
      201: jsonResponse("registered; the site's token on this edge", registeredSchema, {
        collector_id: ex.collector, contract_id: ex.contract, edge_public_keys: [{ key_id: ex.edgeKeyId, public_key: ex.edgePublicKey }],
        collector_token: "tc_test_Zp4Lm8Qw2Rt6Yu0Io9Pa3Sd7Fg1Hj5Kl2Xc6Vb0Nm4", acked_seq: 0, history_to_seq: 120,
      }),
      200: jsonResponse("already registered with this key", registeredSchema, {
        collector_id: ex.collector, contract_id: ex.contract, edge_public_keys: [{ key_id: ex.edgeKeyId, public_key: ex.edgePublicKey }],
        collector_token: null, acked_seq: 40, history_to_seq: 120,
      }),
      ...vendorErrors(409, 413, 415, 422),
    },
  }), async (c) => {
    const contract = c.get("contract");
    const { cid } = c.req.valid("param");
    const input = c.req.valid("json");
    const now = c.get("now");
    const db = database(c.env.DB);
    let token: string | null = null;
    let row = await db.select().from(collectors).where(eq(collectors.id, cid)).get();
    if (!row) {
      token = newSecret("collector", isProduction(c.env));
      await db.insert(collectors).values({
        id: cid, contract_id: contract.id, vendor_id: contract.vendor_id, public_key: input.public_key, token_hash: hashSecret(token), site: input.site, enrolled_at: now,
      }).onConflictDoNothing().run();
      row = await db.select().from(collectors).where(and(eq(collectors.id, cid), eq(collectors.token_hash, hashSecret(token)))).get();
      if (!row) throw new EdgeError("collector_exists", `${cid} was registered by a concurrent request; retry`);
    } else if (row.contract_id !== contract.id || row.public_key !== input.public_key || row.site !== input.site) {
      // Another site name is refused too: a registration never renames, so it must not answer 200 as if it had.
      const what = row.contract_id !== contract.id ? "in another contract" : row.public_key !== input.public_key ? "with another public key" : `as site "${row.site}"`;
      throw new EdgeError("collector_exists", `${cid} exists ${what}`);
    }
    const stub = contractStub(c.env, contract.id);
    await stub.setup(termsOf(contract));
    const state = await stub.importSite({ collector_id: row.id, public_key: row.public_key, site: row.site, enrolled_at: row.enrolled_at }, input.history_to_seq);
    const { key_id, public_key } = edgeKey(c.env.EDGE_SIGNING_KEY);
    return c.json({
      collector_id: cid, contract_id: contract.id, edge_public_keys: [{ key_id, public_key }], collector_token: token,
      acked_seq: state.hwm, history_to_seq: state.import_to_seq,
    }, token ? 201 : 200);
  });
