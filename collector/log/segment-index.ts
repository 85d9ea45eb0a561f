// The index file of a sealed segment (`seg-<first seq>.idx`, FORMAT.md "Segment index"): its
// entry count, committed size and every INDEX_STRIDE-th frame offset, so that open never reads a
// segment that can no longer change — start-up costs the newest segment, whatever the backlog.
//
// A cache, never the truth: written when the segment is sealed (the next one is created), after
// the segment's own fsync; not fsynced itself. Open ignores an index that is missing, torn (its
// CRC), or disagrees with the segment file (size, or the header of its last indexed frame), and
// scans that segment as before. Damage inside a sealed segment's payloads is then found where the
// bytes are used: `read` re-checks every frame's CRCs, `verify` rescans everything.
import { join } from "node:path";
import { crc32c, decodeHeader, HEADER_BYTES } from "./frame.ts";
import { removeIfPresent, writeAll, type LogFs } from "./log-fs.ts";
import type { SegmentState } from "./log-scan.ts";
import { indexName, type SegmentFile, type SegmentListing } from "./segment-files.ts";
import { INDEX_STRIDE } from "./segment-scan.ts";

const FORMAT = "tally-log-index/v1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface IndexBody { format: string; first_seq: number; entries: number; size: number; stride: number; index: number[] }

/** Line 1: the body as JSON; line 2: CRC32C of line 1's bytes, 8 hex digits. */
export function encodeIndex(segment: SegmentState): Uint8Array {
  const body: IndexBody = { format: FORMAT, first_seq: segment.firstSeq, entries: segment.entries, size: segment.size, stride: INDEX_STRIDE, index: segment.index };
  const line = encoder.encode(JSON.stringify(body));
  return encoder.encode(`${decoder.decode(line)}\n${crc32c(line).toString(16).padStart(8, "0")}\n`);
}

/** Writes the index of a sealed segment (its frames already fsynced). */
export async function writeIndex(fs: LogFs, dir: string, segment: SegmentState): Promise<void> {
  const bytes = encodeIndex(segment);
  const handle = await fs.open(join(dir, indexName(segment.firstSeq)), "w", 0o600);
  try {
    await writeAll(handle, bytes, 0);
  } finally {
    await handle.close();
  }
}

/** The segment's state from its index, or null when the index cannot be trusted. */
export async function loadIndex(fs: LogFs, dir: string, file: SegmentFile): Promise<SegmentState | null> {
  let body: IndexBody;
  try {
    const text = decoder.decode(await fs.readFile(join(dir, indexName(file.firstSeq))));
    const [line, crc, rest] = text.split("\n");
    if (line === undefined || crc === undefined || rest !== "" || crc !== crc32c(encoder.encode(line)).toString(16).padStart(8, "0")) return null;
    body = JSON.parse(line) as IndexBody;
  } catch {
    return null;
  }
  if (!plausible(body, file.firstSeq)) return null;
  return (await agreesWithSegment(fs, dir, file, body)) ? { name: file.name, firstSeq: file.firstSeq, entries: body.entries, size: body.size, index: body.index } : null;
}

function plausible(b: IndexBody, firstSeq: number): boolean {
  if (b.format !== FORMAT || b.first_seq !== firstSeq || b.stride !== INDEX_STRIDE) return false;
  if (!Number.isSafeInteger(b.entries) || b.entries < 1 || !Number.isSafeInteger(b.size) || b.size < b.entries * HEADER_BYTES) return false;
  if (!Array.isArray(b.index) || b.index.length !== Math.ceil(b.entries / INDEX_STRIDE) || b.index[0] !== 0) return false;
  return b.index.every((offset, i) => Number.isSafeInteger(offset) && offset < b.size && (i === 0 || offset > b.index[i - 1]!));
}

/** The segment is exactly `size` bytes and its last indexed frame is where the index says. */
async function agreesWithSegment(fs: LogFs, dir: string, file: SegmentFile, b: IndexBody): Promise<boolean> {
  const handle = await fs.open(join(dir, file.name), "r");
  try {
    const probe = new Uint8Array(HEADER_BYTES);
    if ((await handle.read(probe, 0, 1, b.size - 1)).bytesRead !== 1) return false;
    if ((await handle.read(probe, 0, 1, b.size)).bytesRead !== 0) return false;
    const last = b.index.length - 1;
    const at = b.index[last]!;
    if ((await handle.read(probe, 0, HEADER_BYTES, at)).bytesRead !== HEADER_BYTES) return false;
    const header = decodeHeader(probe, 0);
    return header.headerOk && header.seq === file.firstSeq + last * INDEX_STRIDE && at + HEADER_BYTES + header.length <= b.size;
  } finally {
    await handle.close();
  }
}

/** Open's index upkeep, all best-effort (an index is a cache, segment-index.ts): removes index files
 *  whose segment is gone and the last segment's (it can still grow), writes the missing ones. */
export async function maintainIndexes(fs: LogFs, dir: string, listing: SegmentListing, unindexed: SegmentState[]): Promise<void> {
  const ignore = () => undefined;
  for (const name of listing.orphanIndexes) await removeIfPresent(fs, join(dir, name)).catch(ignore);
  const last = listing.segments[listing.segments.length - 1];
  if (last?.indexed) await removeIfPresent(fs, join(dir, indexName(last.firstSeq))).catch(ignore);
  for (const segment of unindexed) await writeIndex(fs, dir, segment).catch(ignore);
}
