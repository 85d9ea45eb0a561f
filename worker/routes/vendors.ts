// POST /v1/vendors (operator): creates a vendor and its first API key, shown only in this answer.
// No Idempotency-Key here: replaying the answer would mean storing the key in clear.
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { adminAuth } from "../middleware/admin-auth.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { jsonBody } from "../request-body.ts";
import { database } from "../db/database.ts";
import { apiKeys, vendors as vendorTable } from "../db/schema.ts";
import { newId } from "../ids.ts";
import { hashSecret, newSecret } from "../auth/secrets.ts";
import { instant } from "../instant.ts";

const createVendor = z.strictObject({ name: z.string().min(1).max(256) });

export const vendors = new Hono<AppEnv>().post("/", adminAuth(), bodyLimit(), async (c) => {
  const { name } = await jsonBody(c, createVendor);
  const now = c.get("now");
  const id = newId("ven");
  const apiKey = newSecret("api_key", c.env.TALLY_ENV === "production");
  const db = database(c.env.DB);
  await db.batch([
    db.insert(vendorTable).values({ id, name, created_at: now }),
    db.insert(apiKeys).values({ id: newId("key"), vendor_id: id, key_hash: hashSecret(apiKey), created_at: now }),
  ]);
  return c.json({ id, name, api_key: apiKey, created_at: instant(now) }, 201);
});
