// Offline audit of an exported bundle (DESIGN.md §4 air-gapped path): every batch verified in
// order with `verifyBatch`, as the edge would, from the chain position the bundle starts at.
// Anyone holding the collector's public key can run it — no edge, no state dir — and a single
// changed byte anywhere in the file is reported with a stable code.
import { protocolError, type ProtocolError } from "./codes.ts";
import { bundleSchema, type ChainRecord } from "./schema.ts";
import { parseStrictJson, StrictJsonError } from "./strict-json.ts";
import { verifyBatch, type ChainState } from "./verify-batch.ts";

export interface BundleAudit { collector_id: string; batches: number; records: number; first_seq: number; last_seq: number }

export type BundleAuditResult = { ok: true; audit: BundleAudit; state: ChainState } | { ok: false; error: ProtocolError & { batch_index?: number } };

/**
 * `publicKeys`: the collector's keys by the first seq they sign (ascending; a `key_rotation`
 * inside the bundle adds its key as the edge would). The first batch may start anywhere: the
 * bundle carries the records above the last receipt, so its first record's `prev` is trusted as
 * the starting head — pair the audit with the receipt for the seq before it to anchor that.
 * `from`: the state another bundle's audit ended in (`state`), to check a trip's next bundle
 * continues it exactly (a missing one between them is a `gap`); `publicKeys` is then unused.
 */
export function verifyBundle(text: string, collectorId: string, publicKeys: Array<{ from_seq: number; public_key: string }>, from?: ChainState): BundleAuditResult {
  let body: unknown;
  try {
    body = parseStrictJson(text, { maxDepth: 16 });
  } catch (e) {
    return { ok: false, error: protocolError("malformed", `bundle: ${e instanceof StrictJsonError ? e.message : String(e)}`) };
  }
  const shape = bundleSchema.safeParse(body);
  if (!shape.success) return { ok: false, error: protocolError("malformed", `bundle: ${shape.error.issues[0]?.path.join(".")} ${shape.error.issues[0]?.message}`) };
  const bundle = body as { collector_id: string; batches: unknown[] };
  if (bundle.collector_id !== collectorId) return { ok: false, error: protocolError("collector_mismatch", `bundle of ${bundle.collector_id}, not ${collectorId}`) };
  const first = (bundle.batches[0] as { records?: ChainRecord[] } | undefined)?.records?.[0];
  if (!first || typeof first.seq !== "number" || typeof first.prev !== "string") {
    return { ok: false, error: protocolError("malformed", "bundle: no first record to start from") };
  }
  let state: ChainState = from ?? { collector_id: collectorId, hwm: first.seq - 1, head: first.prev, keys: publicKeys, revoked_at_seq: null };
  let records = 0;
  for (const [i, batch] of bundle.batches.entries()) {
    // Nothing below the bundle's start is known offline, and nothing is receipted in between.
    const result = verifyBatch(state, batch, () => undefined);
    if (!result.ok) return { ok: false, error: { ...result.error, batch_index: i } };
    if (result.replay || result.accepted.length !== (batch as { records: unknown[] }).records.length) {
      return { ok: false, error: protocolError("malformed", `batches.${i}: repeats records of an earlier batch`, { seq: state.hwm }) };
    }
    records += result.accepted.length;
    state = result.state;
  }
  return { ok: true, audit: { collector_id: collectorId, batches: bundle.batches.length, records, first_seq: first.seq, last_seq: state.hwm }, state };
}
