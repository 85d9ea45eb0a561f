// The vendor's decisions about a site's trust (DESIGN.md §4, §7), vendor key, tenancy-checked
// (another vendor's collector answers 404):
//   POST /v1/collectors/:id/revoke   freeze the chain at its hwm; later records are `revoked`
//   POST /v1/collectors/:id/resolve  {last_common_seq?}: accept the site's new branch after an
//                                    equivocation (worker/contract/fork-resolution.ts)
import { Hono } from "hono";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { database } from "../db/database.ts";
import { collectors } from "../db/schema.ts";
import { instant } from "../instant.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { validated } from "../request-body.ts";
import { identityOf, type CollectorRow } from "../auth/collector-token.ts";
import { contractStub } from "../contract/stub.ts";

const resolveSchema = z.strictObject({
  last_common_seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

export const collectorTrust = new Hono<AppEnv>()
  .post("/:id/revoke", vendorAuth(), bodyLimit(), async (c) => {
    const collector = await ownCollector(c.env.DB, c.get("vendorId"), c.req.param("id"));
    const revocation = await contractStub(c.env, collector.contract_id).revokeCollector(identityOf(collector), c.get("now"));
    return c.json({ collector_id: revocation.collector_id, revoked_at_seq: revocation.revoked_at_seq, revoked_at: instant(revocation.revoked_at) });
  })
  .post("/:id/resolve", vendorAuth(), bodyLimit(), async (c) => {
    const collector = await ownCollector(c.env.DB, c.get("vendorId"), c.req.param("id"));
    const input = validated(resolveSchema, optionalJson(await c.req.text()), "");
    const stub = contractStub(c.env, collector.contract_id);
    await stub.registerCollector(identityOf(collector));
    const outcome = await stub.resolveFork(collector.id, input.last_common_seq, c.get("now"));
    if (!outcome.ok) {
      const extra = outcome.code === "invalid_request" ? { field: "last_common_seq" } : {};
      throw new EdgeError(outcome.code, outcome.message, extra);
    }
    return c.json({ ...outcome.resolution, resolved_at: instant(outcome.resolution.resolved_at) });
  });

async function ownCollector(d1: D1Database, vendorId: string, id: string): Promise<CollectorRow> {
  const row = await database(d1).select().from(collectors).where(and(eq(collectors.id, id), eq(collectors.vendor_id, vendorId))).get();
  if (!row) throw new EdgeError("not_found", `no collector ${id}`);
  return row;
}

/** An empty body means no options. */
function optionalJson(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new EdgeError("malformed", "request body is not valid JSON");
  }
}
