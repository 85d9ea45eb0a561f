// POST /v1/collectors/:id/doc (DESIGN.md §8): a collector syncs its replica of the contract doc.
// Bearer collector_token; body and answer are y-protocols sync messages
// (`application/octet-stream`, shared/contract-doc/wire.ts). A refused update is a 422
// `doc_update_refused` with its `reason`, and the edge's doc is left exactly as it was.
import { createRoute, z } from "@hono/zod-openapi";
import { DEFAULT_MAX_DOC_BYTES } from "../../shared/contract-doc/index.ts";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { authenticateCollector, identityOf } from "../auth/collector-token.ts";
import { contractStub } from "../contract/stub.ts";
import { apiRouter } from "../openapi/router.ts";
import { collectorSecurity, errorResponses } from "../openapi/schemas.ts";

/** An update never exceeds the doc cap; the state vector beside it is small. */
export const MAX_DOC_REQUEST_BYTES = DEFAULT_MAX_DOC_BYTES + 64 * 1024;

const binary = { "application/octet-stream": { schema: { type: "string" as const, format: "binary" } } };

export const collectorDoc = apiRouter().openapi(createRoute({
  method: "post", path: "/{id}/doc", tags: ["collector"], summary: "Sync the collector's replica of the contract doc (y-protocols messages)", security: collectorSecurity,
  middleware: [bodyLimit(MAX_DOC_REQUEST_BYTES)] as const,
  // The id is checked with the token (auth/collector-token.ts): one 401 for unknown id and wrong token.
  request: { params: z.object({ id: z.string().openapi({ param: { name: "id", in: "path" }, pattern: "^col_[A-Za-z0-9_-]{1,64}$" }) }), body: { required: true, content: binary } },
  responses: { 200: { description: "the edge's sync messages", content: binary }, ...errorResponses(400, 401, 403, 413, 422) },
}), async (c) => {
  const collector = await authenticateCollector(c.env.DB, c.req.param("id"), c.req.header("Authorization"));
  const type = (c.req.header("Content-Type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/octet-stream") {
    throw new EdgeError("malformed_doc_message", "a doc sync body is application/octet-stream (y-protocols messages)");
  }
  const body = new Uint8Array(await c.req.arrayBuffer());
  const outcome = await contractStub(c.env, collector.contract_id).syncDoc(identityOf(collector), body, c.get("now"));
  if (!outcome.ok) {
    const { error, message, ...extra } = outcome.error;
    throw new EdgeError(error, message, extra);
  }
  return c.body(outcome.body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": "application/octet-stream" });
});
