// Writing a batch of frames at the end of the log (FORMAT.md "Append (group commit)"): the frames
// go into the newest segment until the next would take it past `segmentBytes`, the segment is
// fsynced, sealed (its index written) and the next one created — fsynced with its directory entry
// — before any frame goes in; one fsync per segment touched. The frames come ready-made (sealFrame:
// the record writer builds them in place), in runs of whole frames, and are written as they are:
// no copy of a payload on the way to the file.
import { LogError } from "./errors.ts";
import { HEADER_BYTES, MAX_PAYLOAD_BYTES, frameLength, frameSeq } from "./frame.ts";
import { writeAll } from "./log-fs.ts";
import type { SegmentState } from "./log-scan.ts";
import { createSegment, indexName, segmentName } from "./segment-files.ts";
import type { BatchStart, WriteEnd } from "./segment-cut.ts";
import { writeIndex } from "./segment-index.ts";
import { INDEX_STRIDE } from "./segment-scan.ts";

/**
 * The number of frames in `runs` (each holds whole frames, one after the other), checked to be
 * entries `firstSeq` … in order with a possible length — before anything is written. Their CRCs are
 * sealFrame's (not re-checked: the log's readers check them).
 */
export function countFrames(runs: Uint8Array[], firstSeq: number): number {
  let seq = firstSeq;
  for (const [i, run] of runs.entries()) {
    if (!(run instanceof Uint8Array)) throw new LogError("invalid_argument", `frame run ${i} is not a Uint8Array`);
    for (let at = 0; at < run.length; seq++) {
      if (at + HEADER_BYTES > run.length) throw new LogError("invalid_argument", `frame run ${i} ends inside a frame header at byte ${at}`);
      const length = frameLength(run, at);
      if (length > MAX_PAYLOAD_BYTES) throw new LogError("payload_too_large", `the frame of seq ${seq} has ${length} payload bytes, over ${MAX_PAYLOAD_BYTES}`);
      if (frameSeq(run, at) !== seq) throw new LogError("invalid_argument", `frame run ${i} holds seq ${frameSeq(run, at)} at byte ${at} where the log's next entry is ${seq}`);
      at += HEADER_BYTES + length;
      if (at > run.length) throw new LogError("invalid_argument", `frame run ${i} ends inside the payload of seq ${seq}`);
    }
  }
  return seq - firstSeq;
}

/** Where the batch about to be written starts (what a rollback restores). */
export function batchStart(segments: SegmentState[]): BatchStart {
  const last = segments[segments.length - 1]!;
  return { segments: segments.length, name: last.name, entries: last.entries, size: last.size, indexLength: last.index.length, creating: null, sealed: [] };
}

/**
 * Writes the runs' frames (checked by countFrames) after the newest segment's committed end,
 * creating segments as they fill. A segment's `entries` and `size` grow once its frames are fsynced.
 * On a failure the caller rolls back to `before` (segment-cut.ts rollBack).
 */
export async function writeFrames(end: WriteEnd, segmentBytes: number, runs: Uint8Array[], before: BatchStart): Promise<void> {
  let segment = end.segments[end.segments.length - 1]!;
  let { entries, size } = segment;
  /** Frames were written to `segment` since its last fsync. */
  let unsynced = false;
  for (const run of runs) {
    let at = 0;
    while (at < run.length) {
      const from = at;
      const offset = size;
      for (let bytes = HEADER_BYTES + frameLength(run, at); entries === 0 || size + bytes <= segmentBytes; ) {
        if (entries % INDEX_STRIDE === 0) segment.index.push(size);
        entries++;
        size += bytes;
        at += bytes;
        if (at >= run.length) break;
        bytes = HEADER_BYTES + frameLength(run, at);
      }
      if (at > from) {
        await writeAll(end.writer, run.subarray(from, at), offset);
        unsynced = true;
      }
      if (at < run.length) {
        // The next frame does not fit: this segment is full.
        if (unsynced) await end.writer.sync();
        unsynced = false;
        Object.assign(segment, { entries, size });
        segment = await nextSegment(end, before);
        ({ entries, size } = segment);
      }
    }
  }
  if (unsynced) await end.writer.sync();
  Object.assign(segment, { entries, size });
}

/** Seals the newest segment (frames fsynced: from here on it never changes, so open may trust its
 *  index) and makes the next one the writer's. */
async function nextSegment(end: WriteEnd, before: BatchStart): Promise<SegmentState> {
  const sealed = end.segments[end.segments.length - 1]!;
  const firstSeq = sealed.firstSeq + sealed.entries;
  before.sealed.push(indexName(sealed.firstSeq));
  await writeIndex(end.fs, end.dir, sealed);
  const previous = end.writer;
  end.writer = await createSegment(end.fs, end.dir, firstSeq, () => (before.creating = segmentName(firstSeq)));
  before.creating = null;
  const segment: SegmentState = { name: segmentName(firstSeq), firstSeq, entries: 0, size: 0, index: [] };
  end.segments.push(segment);
  await previous.close();
  return segment;
}

