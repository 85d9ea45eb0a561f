// One step of a line source's reading: at most `maxBytes` of the file, in slices of SLICE_BYTES —
// a big buffer read and decoded at once costs more. The step's first read looks at the file
// (rotated, truncated?); the others read on, each read while the slice before is parsed. Shared by
// LineReader on one thread and its step worker (step-worker.ts), so both cut a file into the same
// slices and save the same positions.
//
// A caller may end its step after any slice (`stop`: its records reached their budget) and go on
// with the same run of slices at its next step (`left`): the slices, and where the file is looked
// at, stay those of whole `maxBytes` runs, so the step worker, which reads whole runs ahead, and
// its caller, which may end a step inside one, read the same slices as one thread does.
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

export interface SliceOptions {
  /** Bytes left of a run that a step ended inside (`stop`): read on with them; 0 or none: a new run. */
  left?: number;
  /** Asked after each slice that does not end the run: true ends the step there. */
  stop?: () => boolean;
}

/** The step's slices, each to `onChunk` (`last`: it ends the run) before the next is taken; `left`: what is left of the run. */
export async function readSlices(tail: FileTail, maxBytes: number, onChunk: (chunk: TailChunk, last: boolean) => void | Promise<void>, options: SliceOptions = {}): Promise<SliceRead & { left: number }> {
  const read: SliceRead = { lines: 0, bytes: 0, caughtUp: false, missing: false };
  const goOn = options.left !== undefined && options.left > 0;
  for (let left = goOn ? options.left! : maxBytes, first = !goOn; ; first = false) {
    const chunk = await (first ? tail.read(Math.min(left, SLICE_BYTES)) : tail.readOn(Math.min(left, SLICE_BYTES)));
    read.caughtUp = chunk.caughtUp;
    read.missing = chunk.missing === true;
    left -= chunk.bytes;
    const last = chunk.caughtUp || chunk.bytes === 0 || left <= 0;
    await onChunk(chunk, last);
    read.lines += chunk.lineCount;
    read.bytes += chunk.bytes;
    if (last) return { ...read, left: 0 };
    if (options.stop?.()) return { ...read, left };
  }
}
