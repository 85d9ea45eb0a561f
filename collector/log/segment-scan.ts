// Walks the frames of one segment and classifies whatever follows the last valid frame:
// nothing, a torn tail (FORMAT.md "Torn tail"), or damage. Pure: bytes in, verdict out.
import { HEADER_BYTES, MAX_PAYLOAD_BYTES, decodeHeader, payloadOk } from "./frame.ts";

/** Every INDEX_STRIDE-th entry's offset is kept, so a read seeks close to any seq. */
export const INDEX_STRIDE = 64;

export type TornReason = "incomplete_header" | "incomplete_payload" | "damaged_final_frame" | "zero_fill" | "zero_filled_frame";

export interface SegmentScan {
  /** Valid frames from the start of the segment, numbered firstSeq, firstSeq+1, … */
  entries: number;
  /** Byte offset just after the last valid frame. */
  validEnd: number;
  /** index[k] = offset of entry firstSeq + k·INDEX_STRIDE. */
  index: number[];
  /** What starts at validEnd when it is not the end of the bytes. `torn` is set when the rest
   *  would be a torn tail if this were the last segment; otherwise it is damage. */
  damage: null | { offset: number; what: string; torn: TornReason | null };
}

export function scanSegment(bytes: Uint8Array, firstSeq: number): SegmentScan {
  const index: number[] = [];
  let at = 0;
  let entries = 0;
  while (at < bytes.length) {
    const damage = frameDamage(bytes, at, firstSeq + entries);
    if (damage) return { entries, validEnd: at, index, damage };
    if (entries % INDEX_STRIDE === 0) index.push(at);
    at += HEADER_BYTES + decodeHeader(bytes, at).length;
    entries++;
  }
  return { entries, validEnd: at, index, damage: null };
}

/** Null when a valid frame for `expectedSeq` starts at `at`. */
function frameDamage(bytes: Uint8Array, at: number, expectedSeq: number): SegmentScan["damage"] {
  const rest = bytes.length - at;
  if (rest < HEADER_BYTES) return { offset: at, what: `incomplete frame header (${rest} bytes)`, torn: "incomplete_header" };
  if (allZero(bytes, at)) return { offset: at, what: `${rest} zero bytes instead of a frame`, torn: "zero_fill" };
  const header = decodeHeader(bytes, at);
  // Untrusted when the header CRC fails; used only to ask whether this frame would end exactly
  // at the end of the file, which a corrupted length field almost never does by chance.
  const end = at + HEADER_BYTES + header.length;
  if (!header.headerOk) {
    const torn = end === bytes.length ? "damaged_final_frame" : zerosFrom(bytes) < at + HEADER_BYTES ? "zero_filled_frame" : null;
    return { offset: at, what: "frame header CRC mismatch", torn };
  }
  if (header.seq !== expectedSeq) return { offset: at, what: `frame holds seq ${header.seq}, expected ${expectedSeq}`, torn: null };
  if (header.length > MAX_PAYLOAD_BYTES) return { offset: at, what: `impossible payload length ${header.length}`, torn: null };
  if (end > bytes.length) return { offset: at, what: `frame of ${header.length} payload bytes runs past the end of the file`, torn: "incomplete_payload" };
  if (!payloadOk(bytes, at, header)) {
    const torn = end === bytes.length ? "damaged_final_frame" : zerosFrom(bytes) < end ? "zero_filled_frame" : null;
    return { offset: at, what: "payload CRC mismatch", torn };
  }
  return null;
}

/** Where the run of zero bytes that ends the file begins (bytes.length when the last byte is not
 *  zero). A file system that writes a file's pages in order but its size first leaves a torn
 *  frame followed by zeros up to the end; zeros that begin inside the bad frame mark that case. */
function zerosFrom(bytes: Uint8Array): number {
  let at = bytes.length;
  while (at > 0 && bytes[at - 1] === 0) at--;
  return at;
}

function allZero(bytes: Uint8Array, from: number): boolean {
  for (let i = from; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}
