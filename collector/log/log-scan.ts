// Reads the segments of a log directory and checks them as a whole: each segment's frames, the
// numbering across segments, and the cursor against the entries. Used by open (which may then
// drop a torn tail, and takes a sealed segment's entries from its index file when that agrees
// with the segment: segment-index.ts) and by verify (which allows no torn tail and reads all).
import { join } from "node:path";
import { corrupt } from "./errors.ts";
import { CURSOR_FILE } from "./cursor.ts";
import type { LogFs } from "./log-fs.ts";
import type { SegmentFile } from "./segment-files.ts";
import { loadIndex } from "./segment-index.ts";
import { scanSegment, type TornReason } from "./segment-scan.ts";

/** What the log knows about one segment: its entries are firstSeq … firstSeq + entries − 1. */
export interface SegmentState {
  name: string;
  firstSeq: number;
  entries: number;
  /** Bytes of whole valid frames; everything the log has committed in this file. */
  size: number;
  /** Offsets of every INDEX_STRIDE-th entry (segment-scan.ts). */
  index: number[];
}

export interface TornTail {
  segment: string;
  /** Where the dropped bytes began (the new file size) and how many there were. */
  offset: number;
  bytes: number;
  reason: TornReason;
}

export interface LogScan {
  segments: SegmentState[];
  /** Set only when a torn tail is allowed and present; the caller truncates it. */
  tail: TornTail | null;
  /** Sealed segments read whole because no index file could be trusted (open writes one). */
  unindexed: SegmentState[];
}

export interface ScanOptions {
  /** open: a torn final frame of the last segment is a tail to drop, not damage. */
  allowTornTail: boolean;
  /** open: trust a sealed segment's index file when it agrees with the segment. */
  useIndex: boolean;
}

export async function scanLog(fs: LogFs, dir: string, files: SegmentFile[], ackedSeq: number, options: ScanOptions): Promise<LogScan> {
  const { allowTornTail, useIndex } = options;
  const first = files[0];
  if (!first) {
    if (ackedSeq > 0) throw corrupt(CURSOR_FILE, 0, `cursor acks seq ${ackedSeq} but the log has no segment`);
    return { segments: [], tail: null, unindexed: [] };
  }
  if (first.firstSeq > ackedSeq + 1) {
    throw corrupt(first.name, 0, `first segment starts at seq ${first.firstSeq} but seqs ${ackedSeq + 1}…${first.firstSeq - 1} were never acked: a segment is missing`);
  }
  const segments: SegmentState[] = [];
  const unindexed: SegmentState[] = [];
  let tail: TornTail | null = null;
  for (const [i, file] of files.entries()) {
    const isLast = i === files.length - 1;
    const indexed = useIndex && !isLast && file.indexed ? await loadIndex(fs, dir, file) : null;
    if (indexed) {
      segments.push(indexed);
      checkNext(file, indexed.entries, files[i + 1]);
      continue;
    }
    // Segments are bounded by the configured segment size (plus at most one frame): read whole.
    const bytes = await fs.readFile(join(dir, file.name));
    const scan = scanSegment(bytes, file.firstSeq);
    if (scan.damage) {
      const { offset, what, torn } = scan.damage;
      if (!(isLast && torn && allowTornTail)) {
        throw corrupt(file.name, offset, torn && !isLast ? `${what}, in a segment that is not the last` : what);
      }
      tail = { segment: file.name, offset, bytes: bytes.length - offset, reason: torn };
    }
    const state: SegmentState = { name: file.name, firstSeq: file.firstSeq, entries: scan.entries, size: scan.validEnd, index: scan.index };
    segments.push(state);
    if (!isLast && scan.entries > 0) unindexed.push(state);
    checkNext(file, scan.entries, files[i + 1]);
  }
  const last = segments[segments.length - 1]!;
  const lastSeq = last.firstSeq + last.entries - 1;
  if (ackedSeq > lastSeq) throw corrupt(CURSOR_FILE, 0, `cursor acks seq ${ackedSeq} but the log ends at seq ${lastSeq}`);
  return { segments, tail, unindexed };
}

/** The next segment must start right after this one's last entry. */
function checkNext(file: SegmentFile, entries: number, next: SegmentFile | undefined): void {
  const expected = file.firstSeq + entries;
  if (next && next.firstSeq !== expected) {
    const problem = next.firstSeq > expected ? `seqs ${expected}…${next.firstSeq - 1} are missing` : `seqs ${next.firstSeq}…${expected - 1} appear twice`;
    throw corrupt(next.name, 0, `segment starts at seq ${next.firstSeq} but the one before ends at seq ${expected - 1}: ${problem}`);
  }
}
