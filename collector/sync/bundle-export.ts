// The air-gapped path, outbound (DESIGN.md §4): every pending record as signed batches, cut and
// signed exactly as an online sync would (batch limits, a pending key rotation ending its batch),
// in one bundle `{format: "tally-bundle/v1", collector_id, batches}` of at most MAX_BUNDLE_BYTES.
// A larger backlog leaves the rest pending for the next export. What was exported is remembered
// in `export.json`, so `import-receipt` can check each receipt against the batch it answers.
import { join } from "node:path";
import { BUNDLE_FORMAT, MAX_BUNDLE_BYTES, type Checkpoint } from "../../shared/protocol/index.ts";
import { SigningKeys } from "../chain/signing-keys.ts";
import type { Site } from "../site.ts";
import { readJsonFile, writeJsonFile } from "../state/json-file.ts";
import type { StatePaths } from "../state/state-dir.ts";
import { encodeBatch, fitBatch, syncBatchLimits, type BatchLimits } from "./batcher.ts";

const EXPORT_FORMAT = "tally-export/v1";

export interface ExportedBatch { first_seq: number; last_seq: number; checkpoint: Checkpoint; signature: string }

export interface ExportRecord {
  format: string;
  collector_id: string;
  exported_at: number;
  file: string;
  batches: ExportedBatch[];
}

export interface BuiltBundle { bytes: Uint8Array; batches: ExportedBatch[]; records: number; pendingAfter: number }

const encoder = new TextEncoder();

export async function buildBundle(site: Site, ts: number, limits: BatchLimits = syncBatchLimits, maxBytes = MAX_BUNDLE_BYTES): Promise<BuiltBundle> {
  const { log } = site;
  const collectorId = site.identity.collector_id;
  const signing = await SigningKeys.load(site.paths, site.key, log);
  const head = encoder.encode(`{"format":${JSON.stringify(BUNDLE_FORMAT)},"collector_id":${JSON.stringify(collectorId)},"batches":[`);
  const tail = encoder.encode("]}");
  const parts: Uint8Array[] = [head];
  let size = head.length + tail.length;
  const batches: ExportedBatch[] = [];
  let from = log.ackedSeq() + 1;
  while (from <= log.lastSeq()) {
    const end = signing.batchEnd(from);
    const entries = (await log.read(from, { maxCount: limits.records, maxBytes: limits.bytes })).filter((e) => e.seq <= end);
    const batch = encodeBatch(entries.slice(0, fitBatch(entries, collectorId, ts, limits)), collectorId, ts, signing.secretFor(from));
    const separator = batches.length > 0 ? 1 : 0;
    if (size + separator + batch.body.length > maxBytes) break;
    if (separator) parts.push(encoder.encode(","));
    parts.push(batch.body);
    size += separator + batch.body.length;
    batches.push({ first_seq: batch.firstSeq, last_seq: batch.lastSeq, checkpoint: batch.checkpoint, signature: batch.signature });
    from = batch.lastSeq + 1;
  }
  parts.push(tail);
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { bytes.set(p, at); at += p.length; }
  const records = batches.reduce((n, b) => n + b.last_seq - b.first_seq + 1, 0);
  return { bytes, batches, records, pendingAfter: log.lastSeq() - (from - 1) };
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
