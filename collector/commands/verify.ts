// `verify`: checks the whole local log. Exit 0 when everything holds, 1 with the first problem:
//  - framing: SegmentLog.verify (CRCs, numbering, cursor); a damaged final frame that opening
//    the log had to drop is reported too (a crash mid-write looks the same as a flipped bit there);
//  - chain: every retained record is strict JSON of protocol shape, ours, numbered in place,
//    and its prev is the hash of the record before it; the first retained record's prev must be
//    64 zeros (seq 1) or the head a stored receipt gives for the seq before it;
//  - checkpoints we signed (kept with each receipt): our signature, and the head of our record;
//  - receipts: the edge's signature with a known edge key, this collector, never backwards, the
//    head of our record at acked_seq, and the log cursor equal to a stored receipt. A receipt
//    signed by a key revoked since (it leaked) still verifies — it was imported before the site
//    knew, and what it released stays released — but is named in `receipts_by_revoked_keys`.
import { checkpointSchema, keyRotationDataSchema, recordSchema, sha256Hex, verifyCheckpoint, verifyReceipt, ZERO_HASH, type ChainRecord, type Receipt } from "../../shared/protocol/index.ts";
import { readFile } from "node:fs/promises";
import { verifyBundle, type BundleAudit, type ChainState } from "../../shared/protocol/index.ts";
import { decodeRecord } from "../chain/record-writer.ts";
import { loadIdentity, loadKey } from "../state/identity.ts";
import type { StatePaths } from "../state/state-dir.ts";
import { CollectorError } from "../errors.ts";
import { openSite, type Site } from "../site.ts";
import { loadEdgeKeys, loadRevokedEdgeKeys } from "../state/edge-keys.ts";
import { retiredPublicKeys } from "../chain/signing-keys.ts";
import { receiptEntries } from "../state/receipt-book.ts";
import { parseCommandOperands, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const verifyUsage = "verify [--bundle F [F…] [--collector ID --public-key HEX]] [--state DIR] [--json]";

export interface VerifyProblem { code: string; message: string; seq?: number }

export interface VerifySummary {
  first_seq: number;
  last_seq: number;
  acked_seq: number;
  records_checked: number;
  receipts_checked: number;
  checkpoints_checked: number;
  /** Stored receipts signed by edge keys revoked since: per key, how many and the last seq acked. Absent when none. */
  receipts_by_revoked_keys?: { key_id: string; receipts: number; last_acked_seq: number }[];
}

class Problem extends Error {
  readonly problem: VerifyProblem;
  constructor(problem: VerifyProblem) {
    super(problem.message);
    this.problem = problem;
  }
}
const fail = (code: string, message: string, seq?: number): never => {
  throw new Problem({ code, message, ...(seq !== undefined ? { seq } : {}) });
};

export async function verifyCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values, positionals } = parseCommandOperands(argv, { bundle: { type: "string", multiple: true }, collector: { type: "string" }, "public-key": { type: "string" } }, verifyUsage);
  // `--bundle trip*.json`: the shell's expansion puts a trip's other files after the first.
  if (positionals.length > 0 && values.bundle === undefined) throw new CollectorError("usage", `unexpected argument ${positionals[0]}; usage: tally-collector ${verifyUsage}`);
  const paths = stateFrom(values, io.env);
  // Either names whose bundle is checked: alone, or without a bundle, it would be ignored or mixed with this site's.
  const auditor = [values.collector, values["public-key"]].filter((v) => v !== undefined).length;
  if (auditor > 0 && values.bundle === undefined) throw new CollectorError("usage", `--collector and --public-key check a --bundle; usage: tally-collector ${verifyUsage}`);
  if (auditor === 1) throw new CollectorError("usage", `--collector and --public-key go together (the bundle's site and its key); usage: tally-collector ${verifyUsage}`);
  if (values.bundle !== undefined) return verifyBundleFiles([...values.bundle, ...positionals], paths, values);
  let site: Site;
  try {
    site = await openSite(paths);
  } catch (e) {
    if (e instanceof CollectorError && e.code === "check_failed") return failed({ code: "log_corrupt", message: e.message }, null);
    throw e;
  }
  const summary: VerifySummary = { first_seq: site.log.firstSeq(), last_seq: site.log.lastSeq(), acked_seq: site.log.ackedSeq(), records_checked: 0, receipts_checked: 0, checkpoints_checked: 0 };
  try {
    await verifySite(site, summary);
  } catch (e) {
    if (e instanceof Problem) return failed(e.problem, summary);
    if (e instanceof CollectorError && e.code === "check_failed") return failed({ code: "log_corrupt", message: e.message, ...(typeof e.details.seq === "number" ? { seq: e.details.seq } : {}) }, summary);
    throw e;
  } finally {
    await site.close();
  }
  const revoked = (summary.receipts_by_revoked_keys ?? []).map((r) => `\nnote: ${r.receipts} receipts (through seq ${r.last_acked_seq}) were signed by edge key ${r.key_id}, revoked since: imported before the revocation, they stand`);
  return {
    exit: 0, json: { ok: true, ...summary },
    text: `ok: ${summary.records_checked} records (seq ${summary.first_seq}…${summary.last_seq}), ${summary.checkpoints_checked} checkpoints, ${summary.receipts_checked} receipts verified${revoked.join("")}\n`,
  };
}

function failed(problem: VerifyProblem, summary: object | null): CommandResult {
  const where = problem.seq !== undefined ? ` (seq ${problem.seq})` : "";
  return { exit: 1, json: { ok: false, error: problem.code, problem, ...(summary ?? {}) }, text: `FAILED ${problem.code}${where}: ${problem.message}\n` };
}

async function verifySite(site: Site, summary: VerifySummary): Promise<void> {
  const { log } = site;
  if (site.recovery.droppedTail) {
    const t = site.recovery.droppedTail;
    fail("torn_tail", `the log's final frame in ${t.segment} at byte ${t.offset} was damaged (${t.reason}) and was dropped on open`);
  }
  const framing = await log.verify();
  if (!framing.ok) fail("log_corrupt", framing.damage!.message);

  // The receipt book grows by a line per batch for as long as the site runs: it is read twice, a
  // chunk at a time, never held. First what the chain walk must hash — the seqs receipts and
  // checkpoints name that the log still holds — and the receipted head just before the log's first record.
  const first = log.firstSeq();
  const wanted = new Set<number>();
  let anchor: string | undefined;
  for await (const e of receiptEntries(site.paths)) {
    const acked = e.receipt?.acked_seq;
    if (anchor === undefined && first > 1 && acked === first - 1) anchor = e.receipt.head;
    for (const seq of [acked, e.checkpoint?.seq]) if (typeof seq === "number" && seq >= first && seq <= log.lastSeq()) wanted.add(seq);
  }
  const signerKeys = [site.key.public_key, ...await retiredPublicKeys(site.paths)]; // rotated-out keys signed older checkpoints
  const hashes = await walkChain(site, anchor, wanted, signerKeys, summary);

  const revokedKeys = await loadRevokedEdgeKeys(site.paths);
  const edgeKeys = [...await loadEdgeKeys(site.paths), ...revokedKeys];
  const byRevoked = new Map<string, { key_id: string; receipts: number; last_acked_seq: number }>();
  const cursor = (log.receipt() as { receipt?: Receipt; signature?: string } | null);
  let cursorBacked = false;
  let lastAcked = 0;
  let i = 0;
  for await (const entry of receiptEntries(site.paths)) {
    const r = entry.receipt;
    const at = `receipt ${++i}`;
    const key = edgeKeys.find((k) => k.key_id === r?.key_id);
    if (!key) fail("unknown_edge_key", `${at} is signed by edge key ${r?.key_id}, which this site never learned`, r?.acked_seq);
    if (!verifyReceipt(r, entry.signature, key!.public_key)) fail("bad_receipt_signature", `${at}: edge signature does not verify`, r.acked_seq);
    if (r.collector_id !== site.identity.collector_id) fail("receipt_collector_mismatch", `${at} is for ${r.collector_id}`, r.acked_seq);
    if (r.acked_seq < lastAcked) fail("receipt_backwards", `${at} acks seq ${r.acked_seq} after one that acked ${lastAcked}`, r.acked_seq);
    lastAcked = r.acked_seq;
    if (r.acked_seq > log.lastSeq()) fail("receipt_beyond_log", `${at} acks seq ${r.acked_seq} beyond the log's end ${log.lastSeq()}`, r.acked_seq);
    const ours = hashes.get(r.acked_seq);
    if (ours !== undefined && ours !== r.head) fail("receipt_head_mismatch", `${at}: the edge signed head ${r.head.slice(0, 12)}… for seq ${r.acked_seq}, our record hashes to ${ours.slice(0, 12)}…`, r.acked_seq);
    if (r.acked_seq === log.ackedSeq() && entry.signature === cursor?.signature) cursorBacked = true;
    summary.receipts_checked++;
    if (revokedKeys.some((k) => k.key_id === r.key_id)) {
      const n = byRevoked.get(r.key_id) ?? { key_id: r.key_id, receipts: 0, last_acked_seq: 0 };
      byRevoked.set(r.key_id, { ...n, receipts: n.receipts + 1, last_acked_seq: r.acked_seq });
    }

    if (entry.checkpoint) {
      const cp = entry.checkpoint;
      if (!checkpointSchema.safeParse(cp).success || cp.collector_id !== site.identity.collector_id) fail("bad_checkpoint", `${at}: checkpoint is not ours or not well formed`, cp.seq);
      if (!signerKeys.some((k) => verifyCheckpoint(cp, entry.checkpoint_signature ?? "", k))) fail("bad_checkpoint_signature", `${at}: our checkpoint signature for seq ${cp.seq} does not verify`, cp.seq);
      const head = hashes.get(cp.seq);
      if (head !== undefined && head !== cp.head) fail("checkpoint_head_mismatch", `${at}: checkpoint head for seq ${cp.seq} differs from our record's hash`, cp.seq);
      summary.checkpoints_checked++;
    }
  }
  if (byRevoked.size > 0) summary.receipts_by_revoked_keys = [...byRevoked.values()];
  if (log.ackedSeq() > 0 && !cursorBacked) fail("cursor_unbacked", `the log's cursor acks seq ${log.ackedSeq()} but no stored receipt says so`, log.ackedSeq());
}

/** Walks every retained record; returns the hashes of the seqs in `wanted`. */
async function walkChain(site: Site, anchor: string | undefined, wanted: Set<number>, signerKeys: string[], summary: VerifySummary): Promise<Map<number, string>> {
  const { log } = site;
  const hashes = new Map<number, string>();
  let expectedSeq = log.firstSeq();
  // The first retained record's prev: 64 zeros, or the head a receipt gives for the seq before
  // (`anchor`). Released up to a seq no receipt names exactly, it stays unchecked here: the later
  // receipts' heads, checked against our hashes below, anchor the chain instead.
  let prevHash: string | undefined = expectedSeq === 1 ? ZERO_HASH : anchor;
  while (expectedSeq <= log.lastSeq()) {
    const entries = await log.read(expectedSeq, { maxCount: 1000 });
    for (const entry of entries) {
      const record: ChainRecord = decodeRecord(entry.payload, entry.seq);
      const shape = recordSchema.safeParse(record);
      if (!shape.success) fail("malformed_record", `record ${entry.seq}: ${shape.error.issues[0]?.path.join(".")} ${shape.error.issues[0]?.message}`, entry.seq);
      if (record.collector_id !== site.identity.collector_id) fail("foreign_record", `record ${entry.seq} belongs to ${record.collector_id}`, entry.seq);
      if (prevHash !== undefined && record.prev !== prevHash) {
        fail("prev_mismatch", entry.seq === log.firstSeq() && entry.seq > 1
          ? `record ${entry.seq}: prev does not match the receipted head of seq ${entry.seq - 1}`
          : `record ${entry.seq}: prev is not the hash of the record before it`, entry.seq);
      }
      if (record.kind === "key_rotation" && keyRotationDataSchema.safeParse(record.data).success) signerKeys.push((record.data as { public_key: string }).public_key);
      prevHash = sha256Hex(entry.payload);
      if (wanted.has(entry.seq)) hashes.set(entry.seq, prevHash);
      summary.records_checked++;
      expectedSeq = entry.seq + 1;
    }
  }
  return hashes;
}

/**
 * `verify --bundle F [F…]`: audits exported bundles offline — every batch's chain and checkpoint
 * signature, as the edge would check them. Several files are a trip's: audited in chain order (by
 * first seq, whatever order they are given), each continuing exactly where the one before ends,
 * so a missing one between them is a `gap`. An auditor without the site's state dir names the
 * collector and its public key; on the site they come from the state dir.
 */
async function verifyBundleFiles(files: string[], paths: StatePaths, values: Record<string, unknown>): Promise<CommandResult> {
  const collectorId = typeof values.collector === "string" ? values.collector : (await loadIdentity(paths)).collector_id;
  const publicKey = typeof values["public-key"] === "string" ? values["public-key"] : (await loadKey(paths)).public_key;
  // One file's text at a time: a trip of 16 MiB files is read twice rather than held.
  const starts = new Map<string, number>();
  for (const file of new Set(files)) starts.set(file, firstSeqOf(await readBundleText(file)));
  const ordered = [...starts.keys()].sort((a, b) => starts.get(a)! - starts.get(b)!);
  const audits: ({ file: string } & BundleAudit)[] = [];
  let state: ChainState | undefined;
  for (const file of ordered) {
    const result = verifyBundle(await readBundleText(file), collectorId, [{ from_seq: 1, public_key: publicKey }], state);
    if (!result.ok) {
      const { error, message, batch_index, seq, expected_seq } = result.error;
      const where = `${ordered.length > 1 ? `${file}: ` : ""}${batch_index !== undefined ? `batch ${batch_index}: ` : ""}`;
      const missing = error === "gap" && state !== undefined ? ` (the bundle holding seq ${expected_seq} is not among these files)` : "";
      return failed({ code: error, message: `${where}${message}${missing}`, ...(seq !== undefined ? { seq } : {}) }, ordered.length > 1 ? { file, verified_files: audits.map((a) => a.file) } : null);
    }
    audits.push({ file, ...result.audit });
    state = result.state;
  }
  if (audits.length === 1) {
    const { file: _, ...a } = audits[0]!;
    return { exit: 0, json: { ok: true, ...a }, text: `ok: bundle of ${a.collector_id}, ${a.batches} batches, ${a.records} records (seq ${a.first_seq}…${a.last_seq}) verified\n` };
  }
  const sum = (f: (a: BundleAudit) => number) => audits.reduce((n, a) => n + f(a), 0);
  const total = { collector_id: collectorId, batches: sum((a) => a.batches), records: sum((a) => a.records), first_seq: audits[0]!.first_seq, last_seq: audits.at(-1)!.last_seq };
  return {
    exit: 0, json: { ok: true, ...total, files: audits },
    text: `ok: ${audits.length} bundles of ${collectorId} in chain order (${ordered.join(", ")}), ${total.batches} batches, ${total.records} records (seq ${total.first_seq}…${total.last_seq}) verified\n`,
  };
}

async function readBundleText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new CollectorError("usage", `cannot read ${file}: ${(e as Error).message}`);
  }
}

/** The bundle's first seq, to put a trip's files in order; one that has none sorts first and is refused by its audit. */
function firstSeqOf(text: string): number {
  try {
    const seq = (JSON.parse(text) as { batches?: { records?: { seq?: unknown }[] }[] }).batches?.[0]?.records?.[0]?.seq;
    return typeof seq === "number" ? seq : -Infinity;
  } catch {
    return -Infinity;
  }
}
