// A collector's own calls other than batches (DESIGN.md §4): `Authorization: Bearer
// <collector_token>`, which must be the token issued to the collector named in the path. The
// token is looked up by its SHA-256 hash and compared in constant time; an unknown collector and
// a wrong token answer the same 401, so the route does not reveal which collector ids exist.
import { collectorIdSchema } from "../../shared/protocol/index.ts";
import { database, queries } from "../db/database.ts";
import { collectors } from "../db/schema.ts";
import { EdgeError } from "../errors.ts";
import { bearerToken } from "./bearer.ts";
import { hashSecret, secretsEqual } from "./secrets.ts";

export type CollectorRow = typeof collectors.$inferSelect;

export async function authenticateCollector(d1: D1Database, collectorId: string, authorization: string | undefined): Promise<CollectorRow> {
  const token = bearerToken(authorization);
  if (token === undefined) throw new EdgeError("unauthorized", "collector token required (Authorization: Bearer …)");
  const row = collectorIdSchema.safeParse(collectorId).success
    ? await queries(database(d1)).collectorById.get({ id: collectorId })
    : undefined;
  if (!row || !secretsEqual(hashSecret(token), row.token_hash)) {
    throw new EdgeError("unauthorized", "unknown collector or wrong collector token");
  }
  return row;
}

export function identityOf(row: CollectorRow) {
  return { collector_id: row.id, public_key: row.public_key, site: row.site, enrolled_at: row.enrolled_at };
}
