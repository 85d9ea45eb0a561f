// GET /v1/keys: the edge public keys that verify receipts (DESIGN.md §4). Public.
import { createRoute, z } from "@hono/zod-openapi";
import { edgeKey } from "../auth/edge-key.ts";
import { apiRouter } from "../openapi/router.ts";
import { jsonResponse } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

const edgeKeysSchema = z.object({
  keys: z.array(z.object({ key_id: z.string().openapi({ example: "edk_0123456789abcdef" }), public_key: z.string().regex(/^[0-9a-f]{64}$/) })),
}).openapi("EdgeKeys");

export const keys = apiRouter().openapi(createRoute({
  method: "get", path: "/", tags: ["public"], summary: "Edge public keys (verify receipts)",
  responses: { 200: jsonResponse("the keys", edgeKeysSchema, { keys: [{ key_id: ex.edgeKeyId, public_key: ex.edgePublicKey }] }) },
}), (c) => {
  const { key_id, public_key } = edgeKey(c.env.EDGE_SIGNING_KEY);
  return c.json({ keys: [{ key_id, public_key }] }, 200);
});
