// POST /v1/collectors/:id/batches (DESIGN.md §4). No bearer: the checkpoint signature
// authenticates. The Worker bounds and parses the body; the contract's DO verifies and applies.
import { Hono } from "hono";
import { eq } from "drizzle-orm";
import { collectorIdSchema, MAX_BATCH_BYTES, parseStrictJson } from "../../shared/protocol/index.ts";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { database } from "../db/database.ts";
import { collectors } from "../db/schema.ts";
import { readBatchText } from "../batch-body.ts";
import { contractStub } from "../contract/stub.ts";

/** Deep enough for any record kind plus nested unknown fields; bounds work on hostile input. */
export const BATCH_MAX_DEPTH = 16;

export const batches = new Hono<AppEnv>().post("/:id/batches", async (c) => {
  const now = c.get("now");
  const text = await readBatchText(c.req.raw, MAX_BATCH_BYTES);
  let body: unknown;
  try {
    body = parseStrictJson(text, { maxDepth: BATCH_MAX_DEPTH });
  } catch (error) {
    throw new EdgeError("malformed", error instanceof Error ? error.message : "invalid JSON");
  }
  const id = c.req.param("id");
  const collector = collectorIdSchema.safeParse(id).success
    ? await database(c.env.DB).select().from(collectors).where(eq(collectors.id, id)).get()
    : undefined;
  if (!collector) throw new EdgeError("unknown_collector", `no collector ${id}`);

  const outcome = await contractStub(c.env, collector.contract_id).applyBatch(
    { collector_id: collector.id, public_key: collector.public_key, site: collector.site, enrolled_at: collector.enrolled_at }, body, now);
  if (!outcome.ok) {
    const { error, message, ...extra } = outcome.error;
    throw new EdgeError(error, message, extra);
  }
  return c.json(outcome.body, 200);
});
