// The air-gapped path, inbound (DESIGN.md §4): the edge's reply to one uploaded bundle,
// `{receipts, edge_keys, error?}`. An export may be several bundles, and their replies come back
// in any order, some perhaps missing: a receipt is matched by what it acknowledges — the batch of
// the latest export it completes (the last one ending at or below its acked_seq) — not by its
// place in a reply. Each is checked exactly as online sync checks one (edge key, signature,
// collector, not backwards, covers its batch, names our hash at acked_seq), stored in the
// receipt book, acknowledged in the log, and only then are the fully receipted segments freed.
// A receipt's head proves the whole chain below it, so a reply missing from the set costs only
// the receipt-book entries of its own batches once a later reply is imported. A receipt at or
// below what the log already acknowledged (a reply imported twice, a bundle uploaded twice, a
// later reply imported first) is verified — its head too, where the log still holds that record —
// and skipped. An `error` stops the import after the receipts before it; an equivocation raises
// the same trust flag online sync raises.
// A receipt signed by a key this site does not know is accepted only when the reply's `edge_keys`
// endorse that key through a chain from a key the site trusts (shared/protocol/edge-keys.ts): the
// keys so learned are stored with the first receipt they verify, and named in the report. A key
// the reply revokes (a revocation by a key the site reaches without passing through a revoked
// one) is dropped before any receipt is checked, stored with the first receipt (or at the end of
// an import that stores none), and named in the report too; a refused import stores nothing.
import { endorsedKeys, signedReceiptSchema, verifyReceipt } from "../../shared/protocol/index.ts";
import { SigningKeys } from "../chain/signing-keys.ts";
import { CollectorError } from "../errors.ts";
import type { Site } from "../site.ts";
import { learnedThrough, loadEdgeKeys, loadRevokedEdgeKeys, mergeEdgeKeys } from "../state/edge-keys.ts";
import { raiseFlag } from "../state/flags.ts";
import { appendReceipt } from "../state/receipt-book.ts";
import { exportedBundles, type ExportedBatch, type ExportRecord } from "./bundle-export.ts";
import { checkReceipt } from "./receipt-check.ts";

export interface ImportReport {
  imported: number;
  already_receipted: number;
  acked_seq: number;
  last_seq: number;
  released_segments: number;
  /** Edge keys learned from the reply's endorsements (stored with the receipts they verify). */
  learned_edge_keys: string[];
  /** Edge keys the reply's verified revocations removed from this site's trust. */
  revoked_edge_keys: string[];
  /** Keys this site had learned through a key revoked now, and the reply does not endorse again: dropped with it. */
  dropped_edge_keys?: string[];
  /** The edge's refusal of a batch in the bundle, if any. */
  edge_error: { error: string; message: string; batch_index?: number; [k: string]: unknown } | null;
}

/** A bundle reply as read from its file: refused (bad_input) unless shaped like one and no longer
 *  than a bundle of the latest export (checked for every file before any is imported). */
export interface BundleReply { receipts: unknown[]; edge_keys?: unknown; error?: unknown; message?: unknown; [k: string]: unknown }

export function checkReply(reply: unknown, exported: ExportRecord): BundleReply {
  const body = reply as BundleReply | null;
  if (typeof body !== "object" || body === null || (!Array.isArray(body.receipts) && typeof body.error !== "string")) {
    throw new CollectorError("bad_input", "not a bundle reply: expected {receipts: […], error?}");
  }
  const receipts = Array.isArray(body.receipts) ? body.receipts : [];
  const longest = Math.max(0, ...exportedBundles(exported).map((b) => b.batches));
  if (receipts.length > longest) {
    throw new CollectorError("bad_input", `the reply has ${receipts.length} receipts but no bundle of the latest export has more than ${longest} batches: import the replies to the latest export`);
  }
  return { ...body, receipts };
}

/** The acked_seq of a reply's first receipt (replies are imported in this order), or Infinity. */
export function replyStart(reply: BundleReply): number {
  const first = signedReceiptSchema.safeParse(reply.receipts[0]);
  return first.success ? first.data.receipt.acked_seq : Number.POSITIVE_INFINITY;
}

/** The exported batch a receipt acknowledging through `ackedSeq` completes: the last one ending at
 *  or below it; the first batch when none does (checkReceipt then refuses it as incomplete). */
function answeredBatch(batches: ExportedBatch[], ackedSeq: number): ExportedBatch {
  let lo = 0;
  let hi = batches.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (batches[mid]!.last_seq <= ackedSeq) lo = mid;
    else hi = mid - 1;
  }
  return batches[lo]!;
}

export async function importReceipts(site: Site, body: BundleReply, exported: ExportRecord, now: number): Promise<ImportReport> {
  const { receipts } = body;
  const { log } = site;
  const collectorId = site.identity.collector_id;
  const trusted = await loadEdgeKeys(site.paths);
  const revokedBefore = (await loadRevokedEdgeKeys(site.paths)).map((k) => k.key_id);
  const endorsed = endorsedKeys(trusted, body.edge_keys, revokedBefore);
  // Keys this site learned through a key the reply revokes are roots no more: the chains are
  // followed again without them, so a key the reply endorses again through a clean chain (the edge
  // re-endorses past a leaked key) stays, and the rest go with the leaked key.
  const revokedNow = [...revokedBefore, ...endorsed.revoked.map((k) => k.key_id)];
  const tainted = learnedThrough(trusted, revokedNow);
  if (tainted.size > 0) {
    const again = endorsedKeys(trusted.filter((k) => !tainted.has(k.key_id)), body.edge_keys, revokedNow);
    endorsed.learned = again.learned;
    endorsed.unknown = again.unknown;
    endorsed.revoked.push(...again.revoked);
  }
  const relearned = endorsed.learned.filter((k) => tainted.has(k.key_id));
  const dropped = [...tainted.keys()].filter((id) => !relearned.some((k) => k.key_id === id));
  const gone = new Set([...revokedNow, ...endorsed.revoked.map((k) => k.key_id), ...dropped]);
  const keys = [...trusted.filter((k) => !gone.has(k.key_id) && !tainted.has(k.key_id)), ...endorsed.learned];
  let revocationsStored = endorsed.revoked.length === 0 && tainted.size === 0;
  const signing = await SigningKeys.load(site.paths, site.key, log);
  const report: ImportReport = { imported: 0, already_receipted: 0, acked_seq: log.ackedSeq(), last_seq: log.lastSeq(), released_segments: 0, learned_edge_keys: [], revoked_edge_keys: [], edge_error: null };

  for (const [i, raw] of receipts.entries()) {
    const parsed = signedReceiptSchema.safeParse(raw);
    if (parsed.success && parsed.data.receipt.acked_seq <= log.ackedSeq() && parsed.data.receipt.collector_id === collectorId) {
      const key = keys.find((k) => k.key_id === parsed.data.receipt.key_id);
      if (key && verifyReceipt(parsed.data.receipt, parsed.data.signature, key.public_key)) {
        // Below the cursor, but the edge must still name our record there: a receipt that names
        // another head says the edge holds another chain than this site's, however old the receipt.
        const ours = await site.hashAt(parsed.data.receipt.acked_seq);
        if (ours !== undefined && ours !== parsed.data.receipt.head) {
          throw new CollectorError("receipt_refused", `receipt ${i} refused (receipt_head_mismatch): it names head ${parsed.data.receipt.head} at seq ${parsed.data.receipt.acked_seq}, where this site's record has ${ours}`, { refusal: "receipt_head_mismatch", receipt_index: i, imported: report.imported });
        }
        report.already_receipted++;
        continue;
      }
    }
    const batch = answeredBatch(exported.batches, parsed.success ? parsed.data.receipt.acked_seq : 0);
    const verdict = await checkReceipt(raw, { collectorId, ackedSeq: log.ackedSeq(), sentThrough: batch.last_seq, lastSeq: log.lastSeq() }, keys, (seq) => site.hashAt(seq));
    if (!verdict.ok) {
      const keyId = (raw as { receipt: { key_id: string } }).receipt.key_id;
      const unknown = verdict.code !== "unknown_key" ? undefined
        : gone.has(keyId) ? "revoked" as const : endorsed.unknown.find((k) => k.key_id === keyId)?.reason ?? "unendorsed";
      const why = unknown === undefined ? "" : unknown === "revoked"
        ? ": that key is revoked (it leaked, or was learned through a key that did): nothing it signs is trusted"
        : unknown === "bad_endorsement" ? ": the reply's endorsement of it does not verify"
        : ": the reply does not endorse it through a key this site trusts";
      throw new CollectorError("receipt_refused", `receipt ${i} refused (${verdict.code}): ${verdict.message}${why}`, {
        refusal: verdict.code, receipt_index: i, imported: report.imported,
        ...(unknown !== undefined ? { key_endorsement: unknown } : {}),
      });
    }
    const { receipt, signature } = verdict;
    const learn = report.learned_edge_keys.length === 0 && !trusted.some((k) => k.key_id === receipt.key_id && !tainted.has(k.key_id))
      ? endorsed.learned.filter((k) => !tainted.has(k.key_id)) : [];
    if (learn.length > 0 || !revocationsStored) {
      // Before the receipt is stored: `verify` must find every stored receipt's key.
      await mergeEdgeKeys(site.paths, [...learn, ...(revocationsStored ? [] : relearned)], revocationsStored ? [] : endorsed.revoked);
      if (learn.length > 0) report.learned_edge_keys = learn.map((k) => k.key_id);
      revocationsStored = true;
    }
    await appendReceipt(site.paths, { checkpoint: batch.checkpoint, checkpoint_signature: batch.signature, receipt, signature });
    await log.acknowledge(receipt.acked_seq, { receipt, signature });
    await signing.receipted(receipt.acked_seq);
    report.released_segments += (await log.release()).removedSegments.length;
    report.imported++;
  }

  if (!revocationsStored) await mergeEdgeKeys(site.paths, relearned, endorsed.revoked);
  report.revoked_edge_keys = endorsed.revoked.map((k) => k.key_id);
  if (dropped.length > 0) report.dropped_edge_keys = dropped;

  if (typeof body.error === "string") {
    const { receipts: _r, edge_keys: _k, ...error } = body as Record<string, unknown> & { error: string; message?: unknown };
    report.edge_error = { ...error, error: body.error, message: typeof body.message === "string" ? body.message : "" };
    if (body.error === "equivocation") {
      const seq = typeof body.seq === "number" ? body.seq : undefined;
      await raiseFlag(site.paths, { code: "equivocation", ...(seq !== undefined ? { seq } : {}), at: new Date(now).toISOString(), message: report.edge_error.message });
    }
  }
  report.acked_seq = log.ackedSeq();
  report.last_seq = log.lastSeq();
  return report;
}
