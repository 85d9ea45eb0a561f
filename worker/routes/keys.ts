// GET /v1/keys: the edge public keys that verify receipts (DESIGN.md §4). Public.
import { Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { edgeKey } from "../auth/edge-key.ts";

export const keys = new Hono<AppEnv>().get("/", (c) => {
  const { key_id, public_key } = edgeKey(c.env.EDGE_SIGNING_KEY);
  return c.json({ keys: [{ key_id, public_key }] });
});
