// POST /v1/collectors/:id/batches (DESIGN.md §4). No bearer: the checkpoint signature
// authenticates. The Worker bounds and parses the body; the contract's DO verifies and applies.
// The body is documented in OpenAPI (component `Batch`) but deliberately not parsed by zod: it
// may be gzip-encoded, and signed data must be read by the strict JSON reader (shared/protocol).
import { createRoute, z } from "@hono/zod-openapi";
import { batchSchema, collectorIdSchema, MAX_BATCH_BYTES, parseStrictJson, signedReceiptSchema } from "../../shared/protocol/index.ts";
import { EdgeError } from "../errors.ts";
import { database, queries } from "../db/database.ts";
import { readBatchText } from "../batch-body.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { errorResponses, jsonResponse } from "../openapi/schemas.ts";
import { batchExample, receiptExample } from "../openapi/example-values.ts";

/** Deep enough for any record kind plus nested unknown fields; bounds work on hostile input. */
export const BATCH_MAX_DEPTH = 16;

export const batches = apiRouter();
batches.openAPIRegistry.register("Batch", batchSchema);

batches.openapi(createRoute({
  method: "post", path: "/{id}/batches", tags: ["collector"], summary: "Sync a signed batch of records; answers a signed receipt",
  description: "No bearer: the checkpoint signature authenticates. `Content-Encoding: gzip` is accepted. The body is read by a strict JSON reader (duplicate keys, fractions, exponents and `-0` are `malformed`), so it is not validated by the generic JSON validator.",
  request: {
    params: z.object({ id: collectorIdSchema.openapi({ param: { name: "id", in: "path" } }) }),
    // A plain schema object (not zod) documents the body without installing a JSON validator.
    body: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/Batch" }, example: batchExample } } },
  },
  responses: {
    200: jsonResponse("the receipt (a replay answers the current receipt)", signedReceiptSchema, receiptExample),
    ...errorResponses(400, 401, 403, 409, 413),
  },
}), async (c) => {
  const now = c.get("now");
  const text = await readBatchText(c.req.raw, MAX_BATCH_BYTES);
  let body: unknown;
  try {
    body = parseStrictJson(text, { maxDepth: BATCH_MAX_DEPTH });
  } catch (error) {
    throw new EdgeError("malformed", error instanceof Error ? error.message : "invalid JSON");
  }
  const id = c.req.valid("param").id;
  const collector = await queries(database(c.env.DB)).collectorById.get({ id });
  if (!collector) throw new EdgeError("unknown_collector", `no collector ${id}`);

  const outcome = await contractStub(c.env, collector.contract_id).applyBatch(
    { collector_id: collector.id, public_key: collector.public_key, site: collector.site, enrolled_at: collector.enrolled_at }, body, now);
  if (!outcome.ok) {
    const { error, message, ...extra } = outcome.error;
    throw new EdgeError(error, message, extra);
  }
  return c.json(outcome.body, 200);
}, (result, c) => {
  // A path that is not a collector id names no collector: the protocol's answer, not a 404.
  if (!result.success) throw new EdgeError("unknown_collector", `no collector ${c.req.param("id")}`);
  return undefined;
});
