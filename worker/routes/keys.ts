// GET /v1/keys: the edge public keys that verify receipts and webhooks (DESIGN.md §4). Public.
// The current key first, then the previous ones (EDGE_SIGNING_KEYS_PREVIOUS), each key but the
// oldest endorsed by the key it replaced (shared/protocol/edge-keys.ts); a leaked one
// (EDGE_SIGNING_KEYS_REVOKED) carries a revocation by the current key instead and endorses nothing.
import { createRoute, z } from "@hono/zod-openapi";
import { requireEdgeKeys } from "../auth/edge-key.ts";
import { apiRouter } from "../openapi/router.ts";
import { jsonResponse } from "../openapi/schemas.ts";
import { ex } from "../openapi/example-values.ts";

export const publishedEdgeKeySchema = z.object({
  key_id: z.string().openapi({ example: "edk_0123456789abcdef" }),
  public_key: z.string().regex(/^[0-9a-f]{64}$/),
  endorsement: z.object({
    endorsed_by: z.string().openapi({ description: "the key_id of the key this one replaced" }),
    signature: z.string().regex(/^[0-9a-f]{128}$/).openapi({ description: "Ed25519 by `endorsed_by` over \"tally/edge-key/v1\\n\" + canonical {endorsed_by, key_id, public_key}" }),
  }).optional().openapi({ description: "absent on the oldest key listed and on revoked keys; a key after a revoked one is endorsed by the next key not revoked" }),
  revocation: z.object({
    revoked_by: z.string().openapi({ description: "the key_id of the current key" }),
    signature: z.string().regex(/^[0-9a-f]{128}$/).openapi({ description: "Ed25519 by `revoked_by` over \"tally/edge-key-revocation/v1\\n\" + canonical {key_id, public_key, revoked_by}" }),
  }).optional().openapi({ description: "present when the key leaked (EDGE_SIGNING_KEYS_REVOKED): trust nothing it signs or endorses" }),
}).openapi("EdgeKey");

const edgeKeysSchema = z.object({
  keys: z.array(publishedEdgeKeySchema).openapi({ description: "the current key (the one that signs) first, then the previous ones, newest first" }),
}).openapi("EdgeKeys");

export const keys = apiRouter().openapi(createRoute({
  method: "get", path: "/", tags: ["public"], summary: "Edge public keys (verify receipts and webhooks)",
  responses: { 200: jsonResponse("the keys", edgeKeysSchema, { keys: [{ key_id: ex.edgeKeyId, public_key: ex.edgePublicKey }] }) },
}), (c) => c.json({ keys: requireEdgeKeys(c.env).published }, 200));
