// One sync pass (DESIGN.md §4): sends every record above the receipt cursor in batches, each
// with one signed checkpoint, checks and stores each receipt, then releases fully receipted
// segments. Stops at the first answer that means trust is broken, or that the edge will not take
// this collector's batches at all (401/403: revoked, unknown, refused signature), and remembers it
// as a flag, so neither `sync` nor the daemon keeps knocking. A daemon passes a deadline (and its
// stop signal): the pass then ends after the batch in flight, with the rest still pending.
import { gzipSync } from "node:zlib";
import { sha256Hex, type ProtocolError } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import type { Site } from "../site.ts";
import { edgeKeysForSync, keysOverTls, mergeEdgeKeys, type EdgeKey } from "../state/edge-keys.ts";
import { loadFlags, raiseFlag } from "../state/flags.ts";
import { appendReceipt } from "../state/receipt-book.ts";
import { EdgeUnreachable, withBackoff, type BackoffPolicy, type RetryBudget } from "./backoff.ts";
import { nextBatch, syncBatchLimits, type BatchLimits } from "./batcher.ts";
import type { EdgeClient, EdgeReply } from "./edge-client.ts";
import { checkReceipt } from "./receipt-check.ts";
import { SigningKeys } from "../chain/signing-keys.ts";

/** The edge's own 401/403 answers to a batch (DESIGN.md §4). A 401 or 403 without one of these
 *  codes was written by something in between (a proxy's policy page, a WAF challenge): it fails
 *  the pass like any other refusal but raises no flag, so the next pass tries again by itself. */
const EDGE_REFUSALS = new Set(["bad_signature", "unknown_collector", "revoked", "collector_mismatch"]);

export interface SyncOptions {
  backoff: BackoffPolicy;
  random: () => number;
  limits?: BatchLimits;
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
  onBatch?: (info: { firstSeq: number; lastSeq: number; ackedSeq: number; lastLogSeq: number }) => void;
  onRetry?: (attempt: number, delayMs: number, reason: string) => void;
  /** No new batch is started after this time (ms, on `now`)… */
  deadline?: number;
  /** … or once this aborts. */
  signal?: AbortSignal;
}

export interface SyncReport {
  batches: number;
  records_sent: number;
  acked_seq: number;
  last_seq: number;
  released_segments: number;
  retries: number;
  /** Keys the edge's list revoked in this pass (they no longer sign a receipt this site takes). */
  revoked_edge_keys?: string[];
}

/**
 * Reads GET /v1/keys with `get` and takes it as keysOverTls does; stores it with its time, so the
 * daily check starts over. Returns the keys trusted now and the ids it revoked (none when the
 * edge answered anything but its list).
 */
async function refreshEdgeKeys(site: Site, get: () => Promise<EdgeReply>, trusted: EdgeKey[], at: number): Promise<{ keys: EdgeKey[]; revoked: string[] }> {
  const fresh = await get();
  const offered = (fresh.body as { keys?: unknown } | null)?.keys;
  // Not the edge's list (an error, a proxy's page): nothing learned, nothing read.
  if (fresh.status !== 200 || !Array.isArray(offered)) return { keys: trusted, revoked: [] };
  const listed = keysOverTls(trusted, offered);
  const revoked = listed.revoked.filter((r) => trusted.some((k) => k.key_id === r.key_id)).map((r) => r.key_id);
  return { keys: await mergeEdgeKeys(site.paths, listed.keys, listed.revoked, at), revoked };
}

export async function syncOnce(site: Site, client: EdgeClient, options: SyncOptions): Promise<SyncReport> {
  const flags = await loadFlags(site.paths);
  if (flags.length > 0) {
    throw new CollectorError("flagged", `sync refused: ${flags[0]!.code} flagged (${flags[0]!.message}); resolve it with the vendor, then run \`sync --resolved\``, { flags });
  }
  const { log } = site;
  const collectorId = site.identity.collector_id;
  const limits = options.limits ?? syncBatchLimits;
  const now = options.now ?? Date.now;
  const budget: RetryBudget = { failures: 0 };
  const retry = { policy: options.backoff, random: options.random, budget, ...(options.wait ? { wait: options.wait } : {}), ...(options.onRetry ? { onRetry: options.onRetry } : {}) };
  const call = async (op: () => Promise<EdgeReply>): Promise<EdgeReply> => {
    try {
      return await withBackoff(op, retry);
    } catch (e) {
      if (e instanceof EdgeUnreachable) throw new CollectorError("edge_unreachable", `edge unreachable after ${budget.failures} attempts: ${e.reason}`);
      throw e;
    }
  };
  const start = await edgeKeysForSync(site.paths, now());
  let keys: EdgeKey[] = start.keys;
  const revokedKeys: string[] = [];
  const refreshed = (r: { keys: EdgeKey[]; revoked: string[] }) => { keys = r.keys; revokedKeys.push(...r.revoked); };
  if (start.listDue) {
    // The daily look at the edge's list, one try: an edge that does not answer now, or answers
    // something that is not a list of keys, is left to the batches; the look stays due.
    try {
      refreshed(await refreshEdgeKeys(site, () => client.keys(), keys, now()));
    } catch (e) {
      if (!(e instanceof EdgeUnreachable) && !(e instanceof CollectorError && e.code === "bad_input")) throw e;
    }
  }
  // A pending key rotation decides which key signs a batch and where the batch must end.
  const signing = await SigningKeys.load(site.paths, site.key, log);
  const report: SyncReport = { batches: 0, records_sent: 0, acked_seq: log.ackedSeq(), last_seq: log.lastSeq(), released_segments: 0, retries: 0 };
  let from = log.ackedSeq() + 1;
  let gapsInARow = 0;

  while (log.ackedSeq() < log.lastSeq()) {
    if (report.batches > 0 && ((options.deadline !== undefined && now() >= options.deadline) || options.signal?.aborted)) break;
    const { records: batchRecords, batch } = await nextBatch(log, signing, from, collectorId, now(), limits);
    options.onBatch?.({ firstSeq: batch.firstSeq, lastSeq: batch.lastSeq, ackedSeq: log.ackedSeq(), lastLogSeq: log.lastSeq() });
    const gzipped = gzipSync(batch.body);
    const reply = await call(() => client.postBatch(collectorId, gzipped));
    report.batches++;
    report.records_sent += batchRecords.length;

    if (reply.status === 200) {
      gapsInARow = 0;
      const hashes = new Map(batchRecords.map((r) => [r.seq, sha256Hex(r.payload)]));
      const hashAt = async (seq: number) => hashes.get(seq) ?? site.hashAt(seq);
      const expect = { collectorId, ackedSeq: log.ackedSeq(), sentThrough: batch.lastSeq, lastSeq: log.lastSeq() };
      let verdict = await checkReceipt(reply.body, expect, keys, hashAt);
      if (!verdict.ok && verdict.code === "unknown_key") {
        refreshed(await refreshEdgeKeys(site, () => call(() => client.keys()), keys, now()));
        verdict = await checkReceipt(reply.body, expect, keys, hashAt);
      }
      if (!verdict.ok) throw new CollectorError("receipt_refused", `receipt refused (${verdict.code}): ${verdict.message}`, { refusal: verdict.code });
      const { receipt, signature } = verdict;
      await appendReceipt(site.paths, { checkpoint: batch.checkpoint, checkpoint_signature: batch.signature, receipt, signature });
      await log.acknowledge(receipt.acked_seq, { receipt, signature });
      await signing.receipted(receipt.acked_seq);
      report.released_segments += (await log.release()).removedSegments.length;
      from = receipt.acked_seq + 1;
      continue;
    }

    const err = reply.body as Partial<ProtocolError> | null;
    const code = typeof err?.error === "string" ? err.error : `http_${reply.status}`;
    const message = typeof err?.message === "string" ? err.message : JSON.stringify(reply.body)?.slice(0, 200) ?? "";
    if (code === "gap" && typeof err?.expected_seq === "number") {
      const expected = err.expected_seq;
      if (expected <= log.ackedSeq()) {
        // The edge receipted up to ackedSeq and now asks for less: it lost records it signed for.
        await raiseFlag(site.paths, { code: "edge_regressed", seq: expected, at: new Date(now()).toISOString(), message: `edge asked for seq ${expected} after receipting ${log.ackedSeq()}` });
        throw new CollectorError("edge_regressed", `edge asks for seq ${expected} but already receipted up to ${log.ackedSeq()}: flagged, syncing stops until resolved`, { expected_seq: expected, acked_seq: log.ackedSeq() });
      }
      if (expected > log.lastSeq() || ++gapsInARow > 1) {
        throw new CollectorError("batch_refused", `edge expects seq ${expected}, which this site cannot send (log ends at ${log.lastSeq()})`, { edge_error: code, expected_seq: expected });
      }
      from = expected;
      continue;
    }
    if (code === "equivocation") {
      await raiseFlag(site.paths, { code: "equivocation", ...(typeof err?.seq === "number" ? { seq: err.seq } : {}), at: new Date(now()).toISOString(), message });
      throw new CollectorError("equivocation", `edge reports equivocation at seq ${err?.seq ?? "?"}: ${message}; flagged, syncing stops until the vendor resolves it`, { edge_error: code, seq: err?.seq });
    }
    if ((reply.status === 401 || reply.status === 403) && EDGE_REFUSALS.has(code)) {
      // Not something a retry fixes: the vendor revoked this collector, or the edge does not know
      // or believe it. Collecting goes on; syncing waits for a person (`sync --resolved`).
      const flag = code === "revoked" ? "revoked" : "refused";
      await raiseFlag(site.paths, { code: flag, at: new Date(now()).toISOString(), message: `HTTP ${reply.status} ${code}: ${message}` });
      throw new CollectorError("revoked", `the edge refuses this collector's batches (HTTP ${reply.status} ${code}): ${message}; flagged, syncing stops until resolved`, { edge_error: code, status: reply.status, flag });
    }
    const refusal = typeof err?.error === "string" ? `edge refused batch ${batch.firstSeq}…${batch.lastSeq}: ${code}: ${message}`
      : `batch ${batch.firstSeq}…${batch.lastSeq} answered HTTP ${reply.status} without an edge error code (a proxy or firewall in between?): ${message}`;
    throw new CollectorError("batch_refused", refusal, { edge_error: code, status: reply.status, ...(typeof err?.seq === "number" ? { seq: err.seq } : {}) });
  }

  report.acked_seq = log.ackedSeq();
  report.last_seq = log.lastSeq();
  report.retries = budget.failures;
  if (revokedKeys.length > 0) report.revoked_edge_keys = revokedKeys;
  return report;
}
