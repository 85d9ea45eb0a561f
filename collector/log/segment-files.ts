// Segment file names (`seg-<first seq, 12+ digits>.log`) and the directory operations around
// them. A directory entry only survives a crash once the directory itself is fsynced.
import { join } from "node:path";
import { corrupt } from "./errors.ts";
import { removeIfPresent, type LogFile, type LogFs } from "./log-fs.ts";

const SEGMENT_NAME = /^seg-(\d{12,})\.log$/;
const INDEX_NAME = /^seg-(\d{12,})\.idx$/;

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(12, "0")}.log`;
}

/** The sealed segment's index file (segment-index.ts). */
export function indexName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(12, "0")}.idx`;
}

export interface SegmentFile {
  name: string;
  firstSeq: number;
  /** Its index file exists (it may still be stale or damaged: segment-index.ts checks). */
  indexed: boolean;
}

export interface SegmentListing {
  segments: SegmentFile[];
  /** Index files whose segment is gone (a release interrupted between the two removals). */
  orphanIndexes: string[];
}

/** Segments in `dir` by first seq. A `seg-*` name that is not exactly what segmentName() or
 *  indexName() makes (e.g. a hand-renamed copy) is damage, not something to skip. */
export async function listSegments(fs: LogFs, dir: string): Promise<SegmentFile[]> {
  return (await listSegmentFiles(fs, dir)).segments;
}

export async function listSegmentFiles(fs: LogFs, dir: string): Promise<SegmentListing> {
  const found: SegmentFile[] = [];
  const indexes = new Set<string>();
  for (const name of await fs.readdir(dir)) {
    if (!name.startsWith("seg-")) continue;
    const indexDigits = INDEX_NAME.exec(name)?.[1];
    if (indexDigits !== undefined && indexName(Number(indexDigits)) === name) {
      indexes.add(name);
      continue;
    }
    const digits = SEGMENT_NAME.exec(name)?.[1];
    const firstSeq = digits === undefined ? NaN : Number(digits);
    if (!Number.isSafeInteger(firstSeq) || firstSeq < 1 || segmentName(firstSeq) !== name) {
      throw corrupt(name, 0, "file name is not a segment name this log writes");
    }
    found.push({ name, firstSeq, indexed: false });
  }
  for (const f of found) f.indexed = indexes.delete(indexName(f.firstSeq));
  return { segments: found.sort((a, b) => a.firstSeq - b.firstSeq), orphanIndexes: [...indexes] };
}

/** A new empty segment, durable (file and directory entry fsynced) before any frame goes in.
 *  If a step fails, the half-made file is removed again: left behind, its name would make every
 *  retry fail with EEXIST. `onCreated` runs once the file exists (it is ours to remove). */
export async function createSegment(fs: LogFs, dir: string, firstSeq: number, onCreated?: () => void): Promise<LogFile> {
  const path = join(dir, segmentName(firstSeq));
  const handle = await fs.open(path, "wx+", 0o600);
  onCreated?.();
  try {
    await handle.sync();
    await fs.fsyncDir(dir);
  } catch (e) {
    await handle.close().catch(() => undefined);
    await removeIfPresent(fs, path).catch(() => undefined);
    throw e;
  }
  return handle;
}
