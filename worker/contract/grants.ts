// Grants (DESIGN.md §6): prepaid tokens, top-ups, promotions, stored in the DO. `idempotency_key`
// is part of the body: the same key with the same body answers the grant created first; with
// another body it is a 409 `idempotency_conflict`.
import { hashCanonical } from "../../shared/protocol/index.ts";
import type { GrantInput } from "../../shared/pricing/index.ts";
import { EdgeError } from "../errors.ts";
import { newId } from "../ids.ts";

export interface GrantRequest {
  amount: string; priority?: number; effective_at?: number | null; expires_at?: number | null; idempotency_key: string;
  /** The grant's creation on the edge a contract moved from (site-import.ts): only while an import is pending. */
  created_at?: number;
}

export interface StoredGrant extends GrantInput { priority: number; effective_at: number | null; expires_at: number | null }

interface GrantRow { id: string; amount: string; priority: number; effective_at: number | null; expires_at: number | null; created_at: number; request_hash: string }

export function listGrants(sql: SqlStorage): StoredGrant[] {
  return sql.exec<GrantRow & Record<string, SqlStorageValue>>("SELECT * FROM grants ORDER BY created_at, id").toArray()
    .map((r) => ({ id: r.id, amount: r.amount, priority: r.priority, effective_at: r.effective_at, expires_at: r.expires_at, created_at: r.created_at }));
}

/** Stores a grant; `created: false` when the key was seen with the same body before. */
export function addGrant(sql: SqlStorage, request: GrantRequest, now: number): { grant: StoredGrant; created: boolean } {
  const { idempotency_key, ...body } = request;
  const hash = hashCanonical(body);
  const seen = sql.exec<GrantRow & Record<string, SqlStorageValue>>("SELECT * FROM grants WHERE idempotency_key = ?", idempotency_key).toArray()[0];
  if (seen) {
    if (seen.request_hash !== hash) throw new EdgeError("idempotency_conflict", "idempotency_key was already used with another grant");
    return { grant: { id: seen.id, amount: seen.amount, priority: seen.priority, effective_at: seen.effective_at, expires_at: seen.expires_at, created_at: seen.created_at }, created: false };
  }
  const grant: StoredGrant = {
    id: newId("grt"), amount: request.amount, priority: request.priority ?? 0,
    effective_at: request.effective_at ?? null, expires_at: request.expires_at ?? null, created_at: request.created_at ?? now,
  };
  sql.exec("INSERT INTO grants (id, idempotency_key, request_hash, amount, priority, effective_at, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    grant.id, idempotency_key, hash, grant.amount, grant.priority, grant.effective_at, grant.expires_at, grant.created_at);
  return { grant, created: true };
}
