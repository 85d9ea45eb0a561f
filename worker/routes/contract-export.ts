// GET /v1/contracts/:id/export (vendor key, read-only keys too): everything another edge needs
// to know about a contract, paged — its terms, its grants (from the ContractDO, on every page),
// its sites with their public keys, and every
// receipted record exactly as the site signed it, in chain order (collector, seq), each with its
// hash. For moving a contract between edges (a core and Cloudflare, two cores) and for an
// auditor's offline copy: the records verify as chains (hashes, `prev` links) without the edge.
//
// Records come from the D1 projection, which trails the ContractDO by the outbox drain (seconds);
// each site's `hwm` here is the projection's, so a page never lists a seq beyond it. Pages are
// bounded by rows and by bytes (a record is at most 64 KiB), so no request holds much in memory.
import { createRoute, z } from "@hono/zod-openapi";
import { and, asc, eq, sql } from "drizzle-orm";
import { vendorAuth } from "../middleware/vendor-auth.ts";
import { ownedContract } from "../middleware/owned-contract.ts";
import { database, type Database } from "../db/database.ts";
import { collectors, records } from "../db/schema.ts";
import { EdgeError } from "../errors.ts";
import { instant } from "../instant.ts";
import { apiRouter } from "../openapi/router.ts";
import { idParams, idSchema, jsonResponse, vendorErrors, vendorSecurity } from "../openapi/schemas.ts";
import { contractExample, contractSchema, presentContract } from "./contracts.ts";
import { batchExample, ex } from "../openapi/example-values.ts";
import { contractStub } from "../contract/stub.ts";

export const EXPORT_FORMAT = "tally-contract-export/v1" as const;
export const EXPORT_MAX_RECORDS = 500;
/** A page stops adding records past this many bytes of record JSON. */
export const EXPORT_PAGE_BYTES = 4 * 1024 * 1024;

const querySchema = z.object({
  limit: z.coerce.number().int().min(1).max(EXPORT_MAX_RECORDS).default(EXPORT_MAX_RECORDS)
    .openapi({ param: { name: "limit", in: "query" }, description: `records per page, 1–${EXPORT_MAX_RECORDS} (a page also ends after ~4 MiB)` }),
  cursor: z.string().regex(/^rec_[0-9a-f]{48}$/, "a cursor from a previous page").optional()
    .openapi({ param: { name: "cursor", in: "query" }, description: "opaque: the previous page's `next_cursor`" }),
});

const exportSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  exported_at: z.string(),
  contract: contractSchema,
  collectors: z.array(z.object({
    id: idSchema("col"), site: z.string(), public_key: z.string().openapi({ description: "the key the site enrolled with (hex Ed25519); later keys are `key_rotation` records in its chain" }),
    enrolled_at: z.string(), hwm: z.number().int().openapi({ description: "highest seq in the projection, i.e. the last this export lists" }),
    flags: z.array(z.string()),
  })),
  grants: z.array(z.object({
    id: idSchema("grt"), amount: z.string(), priority: z.number().int(), effective_at: z.string().nullable(), expires_at: z.string().nullable(),
    created_at: z.string().openapi({ description: "with effective_at, decides which periods the grant reaches" }),
  })),
  records: z.array(z.object({
    collector_id: idSchema("col"), seq: z.number().int(), hash: z.string(), received_at: z.string(), quarantine: z.string().nullable(),
    record: z.record(z.string(), z.unknown()).openapi({ description: "the record as signed (hash = SHA-256 of its RFC 8785 bytes)" }),
  })),
  next_cursor: z.string().nullable().openapi({ description: "null on the last page" }),
}).openapi("ContractExport");

/** `rec_` + the collector id's 32 hex digits + the seq as 16 hex digits. */
function cursorOf(collectorId: string, seq: number): string {
  return `rec_${collectorId.slice(4)}${seq.toString(16).padStart(16, "0")}`;
}
function parseCursor(cursor: string): { collectorId: string; seq: number } {
  const seq = Number.parseInt(cursor.slice(36), 16);
  if (!Number.isSafeInteger(seq)) throw new EdgeError("invalid_request", "query.cursor: not a cursor from a previous page", { field: "query.cursor" });
  return { collectorId: `col_${cursor.slice(4, 36)}`, seq };
}

/** A page of a contract's records in chain order after `after`: a seek on records_contract_collector
 * (contract_id, collector_id, seq), so a page reads its own rows whatever precedes the cursor. */
export function exportRecordsQuery(db: Database, contractId: string, after: { collectorId: string; seq: number } | undefined, limit: number) {
  const ofContract = eq(records.contract_id, contractId);
  return db.select({
    collector_id: records.collector_id, seq: records.seq, hash: records.hash, received_at: records.received_at,
    quarantine: records.quarantine, record_json: records.record_json,
  }).from(records)
    .where(after ? and(ofContract, sql`(${records.collector_id}, ${records.seq}) > (${after.collectorId}, ${after.seq})`) : ofContract)
    .orderBy(asc(records.collector_id), asc(records.seq)).limit(limit);
}

export const contractExport = apiRouter().openapi(createRoute({
  method: "get", path: "/{id}/export", tags: ["vendor"], summary: "Export a contract: terms, sites with keys, every record as signed (paged)", security: vendorSecurity,
  middleware: [vendorAuth(), ownedContract()] as const,
  request: { params: idParams("ctr"), query: querySchema },
  responses: { 200: jsonResponse("one page of the export", exportSchema, {
    format: EXPORT_FORMAT, exported_at: ex.now, contract: contractExample,
    collectors: [{ id: ex.collector, site: "Acme Plant 3", public_key: ex.hash, enrolled_at: ex.created, hwm: 120, flags: [] }],
    grants: [{ id: ex.grant, amount: "1000", priority: 0, effective_at: null, expires_at: null, created_at: ex.created }],
    records: [{ collector_id: ex.collector, seq: 120, hash: ex.hash, received_at: "2026-11-27T09:59:31Z", quarantine: null, record: batchExample.records[0]! }],
    next_cursor: null,
  }), ...vendorErrors(422) },
}), async (c) => {
  const contract = c.get("contract");
  const { limit, cursor } = c.req.valid("query");
  const db = database(c.env.DB);
  const grants = await contractStub(c.env, contract.id).grantList();
  const sites = await db.select().from(collectors).where(eq(collectors.contract_id, contract.id)).orderBy(asc(collectors.id)).all();
  const after = cursor ? parseCursor(cursor) : undefined;
  // A cursor names a site with records in this contract (one seek on records_contract_collector):
  // another contract's would seek into this one's records at its position, silently skipping sites.
  if (after && !(await db.select({ seq: records.seq }).from(records)
    .where(and(eq(records.contract_id, contract.id), eq(records.collector_id, after.collectorId))).limit(1).get())) {
    throw new EdgeError("invalid_request", "query.cursor: not a cursor from a previous page of this contract's export", { field: "query.cursor" });
  }
  const rows = await exportRecordsQuery(db, contract.id, after, limit + 1).all();

  const listed: typeof rows = [];
  let bytes = 0;
  for (const row of rows.slice(0, limit)) {
    if (listed.length > 0 && bytes + row.record_json.length > EXPORT_PAGE_BYTES) break;
    listed.push(row);
    bytes += row.record_json.length;
  }
  const last = listed.at(-1);
  const more = listed.length < rows.length;
  return c.json({
    format: EXPORT_FORMAT, exported_at: instant(c.get("now")), contract: presentContract(contract),
    collectors: sites.map((s) => ({ id: s.id, site: s.site, public_key: s.public_key, enrolled_at: instant(s.enrolled_at), hwm: s.hwm, flags: JSON.parse(s.flags_json) as string[] })),
    grants: grants.map((g) => ({
      id: g.id, amount: g.amount, priority: g.priority, effective_at: g.effective_at === null ? null : instant(g.effective_at),
      expires_at: g.expires_at === null ? null : instant(g.expires_at), created_at: instant(g.created_at),
    })),
    records: listed.map((r) => ({
      collector_id: r.collector_id, seq: r.seq, hash: r.hash, received_at: instant(r.received_at), quarantine: r.quarantine,
      record: JSON.parse(r.record_json) as Record<string, unknown>,
    })),
    next_cursor: more && last ? cursorOf(last.collector_id, last.seq) : null,
  }, 200);
});
