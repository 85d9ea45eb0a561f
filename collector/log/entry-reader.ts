// Reads committed entries out of one segment, from a seq onwards, re-checking every frame
// it returns (a bit that rotted since open is reported, never handed to the sync as a record).
import { join } from "node:path";
import { corrupt } from "./errors.ts";
import { HEADER_BYTES, decodeHeader, payloadOk } from "./frame.ts";
import type { LogFs } from "./log-fs.ts";
import type { SegmentState } from "./log-scan.ts";
import { INDEX_STRIDE } from "./segment-scan.ts";

export interface Entry {
  seq: number;
  payload: Uint8Array;
}

export interface ReadBudget {
  count: number;
  bytes: number;
}

const CHUNK_BYTES = 1024 * 1024;

/** Appends entries ≥ fromSeq of `segment` to `out` until the segment ends or the budget is spent.
 *  The first entry of a read is always taken, whatever its size, so one large entry cannot stall. */
export async function readSegmentEntries(fs: LogFs, dir: string, segment: SegmentState, fromSeq: number, budget: ReadBudget, out: Entry[]): Promise<void> {
  const k = Math.max(0, Math.min(Math.floor((fromSeq - segment.firstSeq) / INDEX_STRIDE), segment.index.length - 1));
  let seq = segment.firstSeq + k * INDEX_STRIDE;
  let position = segment.index[k] ?? 0;
  const handle = await fs.open(join(dir, segment.name), "r");
  try {
    let want = CHUNK_BYTES;
    while (position < segment.size && budget.count > 0) {
      const length = Math.min(want, segment.size - position);
      const chunk = new Uint8Array(length);
      const { bytesRead } = await handle.read(chunk, 0, length, position);
      if (bytesRead < length) throw corrupt(segment.name, position + bytesRead, "segment is shorter than what was committed");
      want = CHUNK_BYTES;
      let at = 0;
      while (at + HEADER_BYTES <= length && budget.count > 0) {
        const header = decodeHeader(chunk, at);
        if (!header.headerOk) throw corrupt(segment.name, position + at, "frame header CRC mismatch");
        if (header.seq !== seq) throw corrupt(segment.name, position + at, `frame holds seq ${header.seq}, expected ${seq}`);
        const end = at + HEADER_BYTES + header.length;
        if (end > length) {
          if (position + end > segment.size) throw corrupt(segment.name, position + at, "frame runs past the committed end of the segment");
          // A frame larger than a chunk: read again from it with room for all of it.
          if (at === 0) want = HEADER_BYTES + header.length;
          break;
        }
        if (seq >= fromSeq) {
          if (out.length > 0 && header.length > budget.bytes) {
            budget.count = 0;
            return;
          }
          if (!payloadOk(chunk, at, header)) throw corrupt(segment.name, position + at, "payload CRC mismatch");
          out.push({ seq, payload: chunk.slice(at + HEADER_BYTES, end) });
          budget.count--;
          budget.bytes -= header.length;
        }
        at = end;
        seq++;
      }
      if (at === 0 && want === CHUNK_BYTES && budget.count > 0) throw corrupt(segment.name, position, "incomplete frame inside committed bytes");
      position += at;
    }
  } finally {
    await handle.close();
  }
}
