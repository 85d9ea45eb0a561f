// Verification of one batch against a collector's chain state (DESIGN.md §4). Pure: the edge's
// ContractDO and `collector verify` both call it; it decides, the caller stores.
import { canonicalBytes, sha256Hex, ZERO_HASH, type CanonicalHash } from "./canonical.ts";
import { protocolError, type ProtocolError } from "./codes.ts";
import { batchSchema, keyRotationDataSchema, recordSchema, type Batch, type ChainRecord, MAX_BATCH_RECORDS, MAX_RECORD_BYTES } from "./schema.ts";
import { verifyCheckpoint } from "./signing.ts";

/** What the edge knows about one collector's chain. */
export interface ChainState {
  collector_id: string;
  /** High-water mark: the highest receipted seq (0 before the first batch). */
  hwm: number;
  /** Hash of record `hwm` (64 zeros before the first batch). */
  head: string;
  /** Signing keys by the first seq they cover, ascending; the first has from_seq 1. */
  keys: Array<{ from_seq: number; public_key: string }>;
  /** The hwm at revocation, or null: nothing above it is accepted. */
  revoked_at_seq: number | null;
}

/** A checkpoint signature the caller already found valid for `public_key` with a verifier at least
 *  as strict as the library (the edge: workerd's native Ed25519, before its transaction):
 *  verifyBatch takes it for that very checkpoint object, signature and signer, and checks any other. */
export interface CheckedSignature { checkpoint: object; signature: string; public_key: string }

/** Stored record hashes at or below the hwm, to tell a replay from a fork. */
export type StoredHashLookup = (seq: number) => string | undefined;

export interface HashedRecord { record: ChainRecord; hash: string }

export type VerifyResult =
  | { ok: true; replay: boolean; state: ChainState; accepted: HashedRecord[] }
  | { ok: false; error: ProtocolError; evidence?: EquivocationEvidence };

/** Both versions of a forked chain: the stored hash and the signed batch that contradicts it. */
export interface EquivocationEvidence { seq: number; stored_hash: string; received_hash: string; batch: Batch }

export function initialChainState(collectorId: string, publicKey: string): ChainState {
  return { collector_id: collectorId, hwm: 0, head: ZERO_HASH, keys: [{ from_seq: 1, public_key: publicKey }], revoked_at_seq: null };
}

/** The key that signs a checkpoint whose batch starts at `seq`. */
export function keyInForce(state: ChainState, seq: number): string {
  let key = state.keys[0]!.public_key;
  for (const k of state.keys) if (k.from_seq <= seq) key = k.public_key;
  return key;
}

const fail = (error: ProtocolError): VerifyResult => ({ ok: false, error });

/**
 * Checks a parsed batch body (from `parseStrictJson`) against `state`. Order of checks: shape
 * (malformed, batch_too_large, record_too_large), ownership (collector_mismatch), chain inside the
 * batch (prev_mismatch), replay, revocation, gap, signature, and only then a fork (equivocation):
 * evidence is only ever kept for a batch the collector really signed. `gap` (with the expected
 * seq) comes before the signature: past hwm+1 the edge cannot know the signer (docs/decisions.md).
 * `hashes`: each of `body.records`' hash and canonical size, computed beforehand
 * (hashCanonicalAll, a native SHA-256), or undefined to hash here. `checked`: the signature found
 * valid beforehand, if it was.
 */
export function verifyBatch(state: ChainState, body: unknown, storedHash: StoredHashLookup, hashes?: readonly CanonicalHash[], checked?: CheckedSignature): VerifyResult {
  if (typeof body === "object" && body !== null && Array.isArray((body as { records?: unknown }).records)
    && (body as { records: unknown[] }).records.length > MAX_BATCH_RECORDS) {
    return fail(protocolError("batch_too_large", `a batch holds at most ${MAX_BATCH_RECORDS} records`));
  }
  const shape = batchSchema.safeParse(body);
  if (!shape.success) return fail(protocolError("malformed", `batch: ${shape.error.issues[0]?.path.join(".")} ${shape.error.issues[0]?.message}`));
  const batch = body as Batch;
  const { checkpoint } = batch;

  const hashed: HashedRecord[] = [];
  for (const [i, raw] of batch.records.entries()) {
    const parsed = recordSchema.safeParse(raw);
    if (!parsed.success) return fail(protocolError("malformed", `records.${i}: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`));
    const record = raw as ChainRecord;
    if (record.collector_id !== state.collector_id) {
      return fail(protocolError("collector_mismatch", `records.${i} belongs to ${record.collector_id}, not ${state.collector_id}`));
    }
    if (i > 0 && record.seq !== hashed[i - 1]!.record.seq + 1) {
      return fail(protocolError("malformed", `records.${i}: seq ${record.seq} does not follow ${hashed[i - 1]!.record.seq}`));
    }
    if (record.kind === "key_rotation") {
      if (i !== batch.records.length - 1) return fail(protocolError("malformed", `records.${i}: a key_rotation must be the batch's last record`));
      if (!keyRotationDataSchema.safeParse(record.data).success) return fail(protocolError("malformed", `records.${i}: key_rotation needs data.public_key (64 hex)`));
    }
    const bytes = hashes?.[i] === undefined ? canonicalBytes(record) : undefined;
    const size = bytes?.length ?? hashes![i]!.size;
    if (size > MAX_RECORD_BYTES) {
      return fail(protocolError("record_too_large", `records.${i}: ${size} canonical bytes; a record is at most ${MAX_RECORD_BYTES}`, { seq: record.seq }));
    }
    hashed.push({ record, hash: bytes ? sha256Hex(bytes) : hashes![i]!.hash });
  }
  if (checkpoint.collector_id !== state.collector_id) {
    return fail(protocolError("collector_mismatch", `checkpoint belongs to ${checkpoint.collector_id}, not ${state.collector_id}`));
  }
  const last = hashed[hashed.length - 1]!;
  if (checkpoint.seq !== last.record.seq || checkpoint.head !== last.hash) {
    return fail(protocolError("malformed", "checkpoint seq/head do not match the batch's last record"));
  }
  for (let i = 1; i < hashed.length; i++) {
    if (hashed[i]!.record.prev !== hashed[i - 1]!.hash) {
      return fail(protocolError("prev_mismatch", `record ${hashed[i]!.record.seq}: prev is not the hash of the record before it`, { seq: hashed[i]!.record.seq }));
    }
  }

  // Records at or below the hwm must be exactly what is stored; the first one that differs is a fork.
  let fork: { seq: number; stored: string; received: string } | undefined;
  for (const h of hashed) {
    if (h.record.seq > state.hwm) break;
    const stored = storedHash(h.record.seq);
    if (stored !== undefined && stored !== h.hash) { fork = { seq: h.record.seq, stored, received: h.hash }; break; }
  }
  const fresh = hashed.filter((h) => h.record.seq > state.hwm);
  if (!fork && fresh.length === 0) return { ok: true, replay: true, state, accepted: [] };

  if (fresh.length > 0 && state.revoked_at_seq !== null) {
    return fail(protocolError("revoked", `collector was revoked at seq ${state.revoked_at_seq}`));
  }

  // A batch that starts past hwm+1 is a gap whether or not its signature verifies: the edge cannot
  // judge it until the gap is filled (a key rotation in the gap changes the signer), nothing is
  // applied either way, and once the gap is filled the same batch is checked in full.
  if (hashed[0]!.record.seq > state.hwm + 1) {
    return fail(protocolError("gap", `expected seq ${state.hwm + 1}, got ${hashed[0]!.record.seq}`, { expected_seq: state.hwm + 1 }));
  }

  // The signer is the key in force at the batch's first record, which is at or below hwm+1 here.
  const signer = keyInForce(state, hashed[0]!.record.seq);
  const trusted = checked?.checkpoint === checkpoint && checked.signature === batch.signature && checked.public_key === signer;
  if (!trusted && !verifyCheckpoint(checkpoint, batch.signature, signer)) {
    return fail(protocolError("bad_signature", "checkpoint signature does not verify with the key in force"));
  }

  if (!fork && fresh.length > 0 && fresh[0]!.record.prev !== state.head) {
    fork = { seq: fresh[0]!.record.seq, stored: state.head, received: fresh[0]!.record.prev };
  }
  if (fork) {
    return {
      ok: false,
      error: protocolError("equivocation", `record ${fork.seq} conflicts with the chain already receipted`, { seq: fork.seq }),
      evidence: { seq: fork.seq, stored_hash: fork.stored, received_hash: fork.received, batch },
    };
  }

  const lastFresh = fresh[fresh.length - 1]!;
  const keys = [...state.keys];
  if (lastFresh.record.kind === "key_rotation") {
    keys.push({ from_seq: lastFresh.record.seq + 1, public_key: (lastFresh.record.data as { public_key: string }).public_key });
  }
  return {
    ok: true,
    replay: false,
    state: { ...state, hwm: lastFresh.record.seq, head: lastFresh.hash, keys },
    accepted: fresh,
  };
}
