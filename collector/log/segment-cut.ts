// Taking entries back off the end of the log: a failed batch's rollback (FORMAT.md "Append") and
// `forget` (FORMAT.md "Forget"). Both work on the segment list and the writer of an open
// SegmentLog, passed as a `WriteEnd` whose `writer` they may replace. Index files go before any
// segment is cut: an index must never describe more than its segment holds.
import { join } from "node:path";
import { corrupt } from "./errors.ts";
import { decodeHeader, HEADER_BYTES } from "./frame.ts";
import { removeIfPresent, type LogFile, type LogFs } from "./log-fs.ts";
import type { SegmentState } from "./log-scan.ts";
import { indexName } from "./segment-files.ts";
import { INDEX_STRIDE } from "./segment-scan.ts";

/** The end of an open log that is written to: its segments (newest last) and the newest's handle. */
export interface WriteEnd {
  fs: LogFs;
  dir: string;
  segments: SegmentState[];
  writer: LogFile;
}

/** Where a batch started, so a failed one can be undone. */
export interface BatchStart {
  segments: number;
  name: string;
  entries: number;
  size: number;
  indexLength: number;
  /** A segment this batch created whose creation then failed: createSegment removes it, but if
   *  that failed too the rollback must, or its name would make every retry fail with EEXIST. */
  creating: string | null;
  /** Index files this batch wrote for the segments it sealed: stale once the rollback cuts them. */
  sealed: string[];
}

/** Undo a failed batch: delete segments it created, cut the original segment back. Frames of a
 *  failed batch must not survive into a reopen, or the caller would append them twice. */
export async function rollBack(end: WriteEnd, before: BatchStart): Promise<void> {
  // A segment whose creation failed halfway may still exist; its name would block every retry.
  if (before.creating !== null) await removeIfPresent(end.fs, join(end.dir, before.creating));
  for (const name of before.sealed) await removeIfPresent(end.fs, join(end.dir, name));
  while (end.segments.length > before.segments) {
    const created = end.segments.pop()!;
    await end.writer.close().catch(() => undefined);
    await removeIfPresent(end.fs, join(end.dir, created.name));
    end.writer = await end.fs.open(join(end.dir, before.name), "r+");
  }
  await end.fs.fsyncDir(end.dir);
  const segment = end.segments[end.segments.length - 1]!;
  segment.entries = before.entries;
  segment.size = before.size;
  segment.index.length = before.indexLength;
  await end.writer.truncate(before.size);
  await end.writer.sync();
}

/** Drops whole segments after `afterSeq`, then cuts the segment holding it right after its frame. */
export async function cutAfter(end: WriteEnd, afterSeq: number): Promise<void> {
  const last = () => end.segments[end.segments.length - 1]!;
  while (end.segments.length > 1 && last().firstSeq > afterSeq) {
    const gone = end.segments.pop()!;
    await end.writer.close();
    await removeIfPresent(end.fs, join(end.dir, gone.name));
    end.writer = await end.fs.open(join(end.dir, last().name), "r+");
  }
  const segment = last();
  await removeIfPresent(end.fs, join(end.dir, indexName(segment.firstSeq)));
  await end.fs.fsyncDir(end.dir);
  const keep = afterSeq - segment.firstSeq + 1;
  const offset = await offsetOfEntry(end.writer, segment, keep);
  await end.writer.truncate(offset);
  await end.writer.sync();
  segment.entries = keep;
  segment.size = offset;
  segment.index.length = Math.ceil(keep / INDEX_STRIDE);
}

/** Byte offset of the k-th entry (0-based) of a segment; its size for k = entries. */
async function offsetOfEntry(file: LogFile, segment: SegmentState, k: number): Promise<number> {
  if (k >= segment.entries) return segment.size;
  const stride = Math.floor(k / INDEX_STRIDE);
  let offset = segment.index[stride]!;
  const header = new Uint8Array(HEADER_BYTES);
  for (let entry = stride * INDEX_STRIDE; entry < k; entry++) {
    const { bytesRead } = await file.read(header, 0, HEADER_BYTES, offset);
    const decoded = decodeHeader(header, 0);
    if (bytesRead !== HEADER_BYTES || !decoded.headerOk || decoded.seq !== segment.firstSeq + entry) throw corrupt(segment.name, offset, "frame header unreadable while forgetting entries");
    offset += HEADER_BYTES + decoded.length;
  }
  return offset;
}
