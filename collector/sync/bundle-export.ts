// The air-gapped path, outbound (DESIGN.md §4): every pending record as signed batches, cut and
// signed exactly as an online sync would (batch limits, a pending key rotation ending its batch),
// in as many bundles `{format: "tally-bundle/v1", collector_id, batches}` of at most
// MAX_BUNDLE_BYTES (or a smaller `maxBytes`) as the backlog takes. Bundle k+1 continues the chain
// where bundle k ends, so the edge takes them uploaded in order with no reply needed in between.
// Each batch is written out as soon as it is signed: memory holds one batch, not the backlog.
// What was exported is remembered in `export.json`, so `import-receipt` can check each receipt
// against the batch it answers and `status` can name the bundles still awaiting their reply.
import { join } from "node:path";
import { BUNDLE_FORMAT, MAX_BUNDLE_BYTES, type Checkpoint } from "../../shared/protocol/index.ts";
import { SigningKeys } from "../chain/signing-keys.ts";
import { CollectorError } from "../errors.ts";
import type { Site } from "../site.ts";
import { readJsonFile, writeJsonFile } from "../state/json-file.ts";
import type { StatePaths } from "../state/state-dir.ts";
import { nextBatch, syncBatchLimits, type BatchLimits } from "./batcher.ts";
import type { BundleFile, BundleFiles } from "./bundle-files.ts";

const EXPORT_FORMAT = "tally-export/v1";

export interface ExportedBatch { first_seq: number; last_seq: number; checkpoint: Checkpoint; signature: string }

/** One file of an export, in upload order. */
export interface ExportedBundle { file: string; batches: number; first_seq: number | null; last_seq: number | null; bytes: number }

export interface ExportRecord {
  format: string;
  collector_id: string;
  exported_at: number;
  /** The first bundle's file. */
  file: string;
  /** Every batch of every bundle, in chain order. */
  batches: ExportedBatch[];
  /** Absent in a record written before exports took several bundles: then `file` holds them all. */
  bundles?: ExportedBundle[];
}

export interface WrittenExport { bundles: ExportedBundle[]; batches: ExportedBatch[]; records: number }

export interface BundleOptions { limits?: BatchLimits; maxBytes?: number }

const encoder = new TextEncoder();
const COMMA = encoder.encode(",");
const TAIL = encoder.encode("]}");

/** Writes every pending record into `files` (still under their temp names: the caller commits). */
export async function writeBundles(site: Site, ts: number, files: BundleFiles, options: BundleOptions = {}): Promise<WrittenExport> {
  const { log } = site;
  const collectorId = site.identity.collector_id;
  const maxBytes = options.maxBytes ?? MAX_BUNDLE_BYTES;
  const signing = await SigningKeys.load(site.paths, site.key, log);
  const head = encoder.encode(`{"format":${JSON.stringify(BUNDLE_FORMAT)},"collector_id":${JSON.stringify(collectorId)},"batches":[`);
  // A batch must fit an empty bundle: smaller bundles cut smaller batches.
  const base = options.limits ?? syncBatchLimits;
  const limits = { ...base, bytes: Math.min(base.bytes, maxBytes - head.length - TAIL.length) };
  const written: WrittenExport = { bundles: [], batches: [], records: 0 };
  let current = await startBundle(files, head);
  let first = 0; // index in written.batches of the current bundle's first batch

  const close = async (file: BundleFile) => {
    await file.write(TAIL);
    await file.finish();
    const own = written.batches.slice(first);
    written.bundles.push({ file: file.name, batches: own.length, first_seq: own[0]?.first_seq ?? null, last_seq: own.at(-1)?.last_seq ?? null, bytes: file.size });
    first = written.batches.length;
  };

  for (let from = log.ackedSeq() + 1; from <= log.lastSeq();) {
    const { batch } = await nextBatch(log, signing, from, collectorId, ts, limits);
    const inBundle = written.batches.length - first;
    if (current.size + (inBundle > 0 ? COMMA.length : 0) + batch.body.length + TAIL.length > maxBytes) {
      if (inBundle === 0) {
        throw new CollectorError("usage", `record ${batch.firstSeq} alone is a batch of ${batch.body.length} bytes: it does not fit a bundle of ${maxBytes} bytes; raise --max-bytes`);
      }
      await close(current);
      current = await startBundle(files, head);
    }
    if (written.batches.length > first) await current.write(COMMA);
    await current.write(batch.body);
    written.batches.push({ first_seq: batch.firstSeq, last_seq: batch.lastSeq, checkpoint: batch.checkpoint, signature: batch.signature });
    written.records += batch.lastSeq - batch.firstSeq + 1;
    from = batch.lastSeq + 1;
  }
  await close(current);
  return written;
}

async function startBundle(files: BundleFiles, head: Uint8Array): Promise<BundleFile> {
  const file = await files.next();
  await file.write(head);
  return file;
}

export function exportRecordPath(paths: StatePaths): string {
  return join(paths.dir, "export.json");
}

export async function saveExportRecord(paths: StatePaths, record: Omit<ExportRecord, "format">): Promise<void> {
  await writeJsonFile(exportRecordPath(paths), { format: EXPORT_FORMAT, ...record });
}

export async function loadExportRecord(paths: StatePaths): Promise<ExportRecord | undefined> {
  const record = await readJsonFile<ExportRecord>(exportRecordPath(paths));
  return record?.format === EXPORT_FORMAT ? record : undefined;
}

/** The bundles of an export, also of a record from before several were written. */
export function exportedBundles(record: ExportRecord): Omit<ExportedBundle, "bytes">[] {
  return record.bundles ?? [{ file: record.file, batches: record.batches.length, first_seq: record.batches[0]?.first_seq ?? null, last_seq: record.batches.at(-1)?.last_seq ?? null }];
}
