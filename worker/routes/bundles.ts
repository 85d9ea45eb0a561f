// Air-gapped bundles (DESIGN.md §4): `{format: "tally-bundle/v1", collector_id, batches}`, the
// batches applied in order, each atomically, up to the first refusal.
//   POST /v1/collectors/:id/bundles                    no bearer: every batch in it is signed
//   POST /v1/contracts/:id/collectors/:cid/bundles     the vendor uploads on the site's behalf
//   POST /v1/contracts/:id/collectors/:cid/replay      a page of another edge's history export
//                                                      (site-history.ts), with its arrival times
// Both answer `{receipts, edge_keys}` (200) or, when a batch is refused, the refused batch's status
// with `{receipts, edge_keys, error, message, batch_index, …}` — the receipts before it stand.
// `edge_keys` is GET /v1/keys's list: the reply is all an air-gapped site sees of the edge, so it
// carries the endorsements that let the site trust a key the edge rotated to since.
import type { Context } from "hono";
import { createRoute, z } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import {
  bundleSchema, collectorIdSchema, MAX_BUNDLE_BYTES, parseStrictJson, signedReceiptSchema,
} from "../../shared/protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { EdgeError, errorStatus } from "../errors.ts";
import { database, queries } from "../db/database.ts";
import { collectors } from "../db/schema.ts";
import { readBatchText } from "../batch-body.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownContract } from "../tenancy.ts";
import { identityOf, type CollectorRow } from "../auth/collector-token.ts";
import { requireEdgeKeys } from "../auth/edge-key.ts";
import { contractStub } from "../contract/stub.ts";
import { BATCH_MAX_DEPTH } from "./batches.ts";
import { apiRouter } from "../openapi/router.ts";
import { errorResponses, idSchema, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { batchExample, ex, receiptExample } from "../openapi/example-values.ts";

// Documented, not validated by the generic JSON validator: like a batch, a bundle may be gzip and
// is read by the strict JSON reader; path ids are checked in the handlers (with their own answers).
const bundleBody = { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Bundle" }, example: { format: "tally-bundle/v1", collector_id: ex.collector, batches: [batchExample] } } } };
const bundleAnswers = {
  // A plain schema object: applyUploaded answers 200 or the refused batch's status with the same body.
  200: { description: "every batch applied: `{receipts, edge_keys}`", content: { "application/json": { schema: { type: "object" as const, properties: { receipts: { type: "array" as const, items: { $ref: "#/components/schemas/SignedReceipt" } }, edge_keys: { type: "array" as const, items: { $ref: "#/components/schemas/EdgeKey" }, description: "as GET /v1/keys: current key first, each endorsed by the key it replaced" } }, required: ["receipts", "edge_keys"] }, example: { receipts: [receiptExample], edge_keys: [{ key_id: ex.edgeKeyId, public_key: ex.edgePublicKey }] } } } },
};
const collectorPathId = z.string().openapi({ pattern: "^col_[A-Za-z0-9_-]{1,64}$", description: "a collector id" });

export const collectorBundles = apiRouter();
collectorBundles.openAPIRegistry.register("Bundle", bundleSchema);
collectorBundles.openAPIRegistry.register("SignedReceipt", signedReceiptSchema);
collectorBundles.openapi(createRoute({
  method: "post", path: "/{id}/bundles", tags: ["collector"], summary: "Upload an air-gapped bundle of signed batches",
  description: "No bearer: every batch in it is signed. Up to 16 MiB after gzip decoding. A refused batch answers its status with `{receipts, error, message, batch_index}`; the receipts before it stand.",
  request: { params: z.object({ id: collectorPathId.openapi({ param: { name: "id", in: "path" } }) }), body: bundleBody },
  responses: { ...bundleAnswers, ...errorResponses(400, 401, 403, 409, 413) },
}), async (c) => {
  const bundle = await readBundle(c);
  const id = c.req.param("id");
  const collector = collectorIdSchema.safeParse(id).success
    ? await queries(database(c.env.DB)).collectorById.get({ id })
    : undefined;
  if (!collector) throw new EdgeError("unknown_collector", `no collector ${id}`);
  return answered(await applyUploaded(c, collector, bundle));
});

export const vendorBundles = apiRouter().openapi(createRoute({
  method: "post", path: "/{id}/collectors/{cid}/bundles", tags: ["vendor"], summary: "Upload a site's bundle on its behalf", security: vendorSecurity,
  middleware: [vendorAuth()] as const,
  request: {
    params: z.object({ id: idSchema("ctr").openapi({ param: { name: "id", in: "path" } }), cid: idSchema("col").openapi({ param: { name: "cid", in: "path" } }) }),
    body: bundleBody,
  },
  responses: { ...bundleAnswers, ...vendorErrors(400, 409, 413) },
}), async (c) => {
  return answered(await applyUploaded(c, await vendorsCollector(c), await readBundle(c)));
});

const replaySchema = z.looseObject({
  bundle: bundleSchema,
  received_at_ms: z.array(z.number().int().min(0)).max(10_000).openapi({ description: "when the source edge received each batch (ms); batch i is received here at received_at_ms[i]" }),
}).openapi("HistoryReplay");

export const vendorReplay = apiRouter().openapi(createRoute({
  method: "post", path: "/{id}/collectors/{cid}/replay", tags: ["vendor"], summary: "Replay a page of a site's history exported by another edge", security: vendorSecurity,
  description: "The body is a page of `GET …/collectors/{cid}/history` on the source edge, unchanged: its bundle is applied like an uploaded bundle, each batch received at the source's time. Only while the site's import is pending (`PUT …/collectors/{cid}` with `history_to_seq`); arrivals in the future or before the site's previous arrival answer 409 `arrival_refused` and change nothing.",
  middleware: [vendorAuth()] as const,
  request: {
    params: z.object({ id: idSchema("ctr").openapi({ param: { name: "id", in: "path" } }), cid: idSchema("col").openapi({ param: { name: "cid", in: "path" } }) }),
    body: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/HistoryReplay" }, example: { bundle: { format: "tally-bundle/v1", collector_id: ex.collector, batches: [batchExample] }, received_at_ms: [1796032800000] } } } },
  },
  responses: { ...bundleAnswers, ...vendorErrors(400, 409, 413) },
}), async (c) => {
  const collector = await vendorsCollector(c);
  const replay = shaped(replaySchema, await readLargeJson(c, BATCH_MAX_DEPTH + 3), "replay");
  return answered(await applyUploaded(c, collector, replay.bundle as Bundle, replay.received_at_ms));
});
vendorReplay.openAPIRegistry.register("HistoryReplay", replaySchema);

interface Bundle { collector_id: string; batches: unknown[] }

/** The collector `:cid` of the vendor's contract `:id` (404 for another vendor's or contract's). */
async function vendorsCollector(c: Context<AppEnv>): Promise<CollectorRow> {
  const db = database(c.env.DB);
  const contract = await ownContract(db, c.get("vendorId"), c.req.param("id") ?? "");
  const collector = await db.select().from(collectors)
    .where(and(eq(collectors.id, c.req.param("cid") ?? ""), eq(collectors.contract_id, contract.id))).get();
  if (!collector) throw new EdgeError("not_found", `no collector ${c.req.param("cid")} in contract ${contract.id}`);
  return collector;
}

/** The answer's status is the refused batch's (any protocol status), which a route's typed
 * responses cannot express; the OpenAPI declaration above documents it instead. */
function answered(response: Response): never {
  return response as never;
}

/** Same strictness as a batch body (decoded-size cap, strict JSON, bounded depth), larger cap. */
async function readBundle(c: Context<AppEnv>): Promise<Bundle> {
  return shaped(bundleSchema, await readLargeJson(c, BATCH_MAX_DEPTH + 2), "bundle") as Bundle;
}

/** `body` as `schema` has it, or 400 `malformed` naming the first wrong field. */
function shaped<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const shape = schema.safeParse(body);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    throw new EdgeError("malformed", `${what}: ${issue?.path.join(".")} ${issue?.message}`);
  }
  return shape.data;
}

async function readLargeJson(c: Context<AppEnv>, maxDepth: number): Promise<unknown> {
  let text: string;
  try {
    text = await readBatchText(c.req.raw, MAX_BUNDLE_BYTES);
  } catch (error) {
    if (error instanceof EdgeError && error.code === "batch_too_large") {
      throw new EdgeError("bundle_too_large", `a bundle is at most ${MAX_BUNDLE_BYTES} bytes after decoding; export the backlog in several bundles`);
    }
    throw error;
  }
  try {
    return parseStrictJson(text, { maxDepth });
  } catch (error) {
    throw new EdgeError("malformed", error instanceof Error ? error.message : "invalid JSON");
  }
}

async function applyUploaded(c: Context<AppEnv>, collector: CollectorRow, bundle: Bundle, arrivals?: number[]): Promise<Response> {
  if (bundle.collector_id !== collector.id) {
    throw new EdgeError("collector_mismatch", `the bundle belongs to ${bundle.collector_id}, not ${collector.id}`);
  }
  const edge_keys = requireEdgeKeys(c.env).published;
  const outcome = await contractStub(c.env, collector.contract_id).applyBundle(identityOf(collector), bundle.batches, c.get("now"), arrivals);
  if (outcome.arrivalRefused) throw new EdgeError("arrival_refused", outcome.arrivalRefused);
  if (!outcome.refused) return c.json({ receipts: outcome.receipts, edge_keys }, 200);
  const { error, message, ...extra } = outcome.refused.error;
  return c.json({ receipts: outcome.receipts, edge_keys, error, message, batch_index: outcome.refused.index, ...extra }, errorStatus[error]);
}
