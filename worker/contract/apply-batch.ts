// Applies one verified batch inside the DO's SQLite transaction (DESIGN.md §4): verifyBatch
// decides; this stores the accepted records (quarantining those that cannot be rated), advances
// the chain, keeps the batch's checkpoint (checkpoints.ts), appends outbox rows and signs the receipt. The caller rates the stored usage (billing.ts).
// A rejected batch writes nothing — except equivocation evidence, the collector's flag and the
// collector.equivocation webhook event (notices.ts).
import {
  hashCanonicalAll, MAX_BATCH_RECORDS, rateability, signReceipt, verifyBatch, type ChainRecord, type HashedRecord,
  type CanonicalHash, type CheckedSignature, type ProtocolError, type Receipt, type SignedReceipt, type UsageData,
} from "../../shared/protocol/index.ts";
import type { EdgeKey } from "../auth/edge-key.ts";
import { addFlag, chainState, ensureChain, loadChain, saveAdvance, storedHash, type CollectorIdentity } from "./chains.ts";
import { inScope, type ContractTerms, type ScopeEntry } from "./terms.ts";
import { equivocationDetected } from "./notices.ts";
import { keepCheckpoint } from "./checkpoints.ts";
import { historyArrived } from "./site-import.ts";
import { jsonChunks } from "./rollup-drain.ts";
import { keepEvidence } from "./evidence.ts";

export type BatchOutcome =
  | { ok: true; replay: boolean; body: SignedReceipt }
  | { ok: false; error: ProtocolError };

export const EQUIVOCATION_FLAG = "equivocation";

/** The scope of the plan version in force at an instant (null: everything is metered). */
export type ScopeAt = (ts: number) => ScopeEntry[] | null;

/** A stored usage record that is not quarantined: what the caller rates. */
export interface RateableUsage { seq: number; data: UsageData }

/** The hashes of a batch body's records by native SHA-256 (hashCanonicalAll), to compute before the
 * transaction; undefined for a body verifyBatch refuses on its shape (it then reports why). */
export async function recordHashes(body: unknown): Promise<CanonicalHash[] | undefined> {
  const records = typeof body === "object" && body !== null ? (body as { records?: unknown }).records : undefined;
  if (!Array.isArray(records) || records.length === 0 || records.length > MAX_BATCH_RECORDS) return undefined;
  try {
    return await hashCanonicalAll(records);
  } catch {
    return undefined;
  }
}

/** How many records a batch body holds (0 when it has no list), at most MAX_BATCH_RECORDS: the
 * seqs it may add past the hwm are at most this many (a batch continues the chain). */
export function batchLength(body: unknown): number {
  const records = typeof body === "object" && body !== null ? (body as { records?: unknown }).records : undefined;
  return Array.isArray(records) ? Math.min(records.length, MAX_BATCH_RECORDS) : 0;
}

/** Applies a batch; the usage records it stored unquarantined are appended to `rateable`. `hashes`:
 * recordHashes(body), or undefined to hash inside; `checked`: the signature WebCrypto accepted, if
 * it did (both from precheck, batch-signature.ts). */
export function applyBatch(sql: SqlStorage, terms: ContractTerms, who: CollectorIdentity, body: unknown, now: number, key: EdgeKey, scopeAt: ScopeAt,
  rateable: RateableUsage[] = [], hashes?: readonly CanonicalHash[], checked?: CheckedSignature): BatchOutcome {
  ensureChain(sql, who);
  const chain = loadChain(sql, who.collector_id)!;
  const result = verifyBatch(chainState(chain), body, (seq) => storedHash(sql, who.collector_id, seq), hashes, checked);

  if (!result.ok) {
    if (result.evidence) {
      keepEvidence(sql, who.collector_id, result.evidence, now);
      equivocationDetected(sql, terms.contract_id, chain, result.evidence, EQUIVOCATION_FLAG, now);
      addFlag(sql, chain, EQUIVOCATION_FLAG);
      sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector', ?)", who.collector_id);
    }
    return { ok: false, error: result.error };
  }
  if (result.replay) {
    return { ok: true, replay: true, body: receipt({ collector_id: chain.collector_id, acked_seq: chain.hwm, head: chain.head, received_at: chain.acked_at ?? now, key_id: key.key_id }, key) };
  }

  storeRecords(sql, terms, result.accepted, now, scopeAt, rateable);
  saveAdvance(sql, result.state, now);
  const first = result.accepted[0]!.record.seq;
  keepCheckpoint(sql, result.state, first, body, now);
  historyArrived(sql, who.collector_id, result.state.hwm);
  sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('records', ?, ?, ?)", who.collector_id, first, result.state.hwm);
  sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector', ?)", who.collector_id);
  return { ok: true, replay: false, body: receipt({ collector_id: who.collector_id, acked_seq: result.state.hwm, head: result.state.head, received_at: now, key_id: key.key_id }, key) };
}

function storeRecords(sql: SqlStorage, terms: ContractTerms, accepted: HashedRecord[], now: number, scopeAt: ScopeAt, rateable: RateableUsage[]): void {
  const rows: unknown[][] = [];
  for (const { record, hash } of accepted) {
    const reason = quarantineReason(record, terms, now, scopeAt);
    rows.push([record.collector_id, record.seq, hash, record.kind, JSON.stringify(record), reason]);
    if (reason === null && record.kind === "usage") rateable.push({ seq: record.seq, data: record.data as UsageData });
  }
  // Many rows per statement, as one bound JSON value (the 100-parameter limit never applies), cut
  // so no bound value grows past jsonChunks' bound: a per-row INSERT made ingest statement-bound.
  for (const json of jsonChunks(rows)) {
    sql.exec(
      `INSERT INTO records (collector_id, seq, hash, kind, record_json, received_at, quarantine)
       SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'),
         json_extract(value, '$[4]'), ?1, json_extract(value, '$[5]')
       FROM json_each(?2)`,
      now, json,
    );
  }
}

/**
 * Why a receipted record is not rated, or null when it is (DESIGN.md §4 "accept, then rate"). The
 * scope is that of the plan version in force when the usage started (a denial: when it happened).
 */
export function quarantineReason(record: ChainRecord, terms: ContractTerms, receivedAt: number, scopeAt: ScopeAt): string | null {
  const verdict = rateability(record, receivedAt, terms.start_at);
  if (!verdict.rateable) return verdict.reason;
  if (record.kind === "usage" || record.kind === "denial") {
    const d = record.data as { daemon: string; feature: string; start?: number; at?: number };
    const at = record.kind === "usage" ? (d as UsageData).start : (d.at ?? record.ts);
    if (!inScope(scopeAt(at), d.daemon, d.feature)) return `out of the contract's scope (${d.daemon}/${d.feature})`;
  }
  return null;
}

function receipt(r: Receipt, key: EdgeKey): SignedReceipt {
  return { receipt: r, signature: signReceipt(r, key.secret_key) };
}
