// One step of a line source's reading: at most `maxBytes` of the file, in slices of SLICE_BYTES —
// a big buffer read and decoded at once costs more. The step's first read looks at the file
// (rotated, truncated?); the others read on, each read while the slice before is parsed. Shared by
// LineReader on one thread and its step worker (step-worker.ts), so both cut a file into the same
// steps and save the same positions.
import type { FileTail } from "../sources/tail.ts";
import type { TailChunk } from "../sources/tail-chunk.ts";

/** A step reads its bytes this much at a time. */
export const SLICE_BYTES = 512 * 1024;

export interface SliceRead {
  lines: number;
  bytes: number;
  /** Nothing more to read for now (as of the last slice). */
  caughtUp: boolean;
  /** The file does not exist (yet). */
  missing: boolean;
}

/** The step's slices, each to `onChunk` before the next is taken. */
export async function readSlices(tail: FileTail, maxBytes: number, onChunk: (chunk: TailChunk) => void | Promise<void>): Promise<SliceRead> {
  const read: SliceRead = { lines: 0, bytes: 0, caughtUp: false, missing: false };
  for (let left = maxBytes, first = true; ; first = false) {
    const chunk = await (first ? tail.read(Math.min(left, SLICE_BYTES)) : tail.readOn(Math.min(left, SLICE_BYTES)));
    read.caughtUp = chunk.caughtUp;
    read.missing = chunk.missing === true;
    await onChunk(chunk);
    read.lines += chunk.lineCount;
    read.bytes += chunk.bytes;
    left -= chunk.bytes;
    if (chunk.caughtUp || chunk.bytes === 0 || left <= 0) return read;
  }
}
