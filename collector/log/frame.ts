// One framed log entry: a 20-byte header (two CRC32Cs, length, seq) and the opaque payload.
// The byte layout is specified in FORMAT.md; this file is its only encoder and decoder.
import CRC32C from "crc-32/crc32c.js";

export const HEADER_BYTES = 20;
/** The edge refuses a batch over 4 MiB, so no single record can usefully be larger. */
export const MAX_PAYLOAD_BYTES = 4 * 1024 * 1024;

export function crc32c(bytes: Uint8Array, seed?: number): number {
  return CRC32C.buf(bytes, seed) >>> 0;
}

export function frameBytes(payloadLength: number): number {
  return HEADER_BYTES + payloadLength;
}

/** Writes the frame for `payload` as entry `seq` into `out` at `at`; returns the offset after it. */
export function encodeFrame(out: Uint8Array, at: number, seq: number, payload: Uint8Array): number {
  out.set(payload, at + HEADER_BYTES);
  return sealFrame(out, at, seq, payload.length);
}

/**
 * Makes the `length` payload bytes already at `out[at + HEADER_BYTES …]` the frame of entry `seq`:
 * writes the header in front of them; returns the offset after the frame. The record writer builds
 * its records' frames in place this way (no copy of the payload), and passes the view of the
 * payload it already has (`payload`, those bytes), so no other is made.
 */
export function sealFrame(out: Uint8Array, at: number, seq: number, length: number, payload = out.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length)): number {
  putUint32(out, at + 4, length);
  putUint32(out, at + 8, seq % 0x1_0000_0000);
  putUint32(out, at + 12, Math.floor(seq / 0x1_0000_0000));
  putUint32(out, at + 16, crc32c(payload));
  putUint32(out, at, headerCrc(out, at));
  return at + HEADER_BYTES + length;
}

/** CRC32C of the header's bytes 4 … 19, byte by byte: for 16 bytes, cheaper than a view on them
 *  (segment-log.test.ts holds it equal to `crc32c` of those bytes). */
function headerCrc(out: Uint8Array, at: number): number {
  let crc = -1;
  for (let i = at + 4; i < at + HEADER_BYTES; i++) crc = (crc >>> 8) ^ CRC_TABLE[(crc ^ out[i]!) & 255]!;
  return ~crc >>> 0;
}

/** The byte-at-a-time table of the Castagnoli polynomial (reflected: 0x82F63B78). */
const CRC_TABLE = Int32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let bit = 0; bit < 8; bit++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c;
});

/** The length and seq of the frame whose header is at `at`, its CRC unchecked: for a writer
 *  walking frames that sealFrame made. */
export function frameLength(bytes: Uint8Array, at: number): number {
  return getUint32(bytes, at + 4);
}

export function frameSeq(bytes: Uint8Array, at: number): number {
  return getUint32(bytes, at + 8) + getUint32(bytes, at + 12) * 0x1_0000_0000;
}

function putUint32(out: Uint8Array, at: number, value: number): void {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
}

function getUint32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x100_0000;
}

export interface FrameHeader {
  /** Whether the header CRC matched: if not, `length` and `seq` are untrusted. */
  headerOk: boolean;
  length: number;
  seq: number;
  payloadCrc: number;
}

/** Decodes the header at `at`; the caller guarantees HEADER_BYTES are present. */
export function decodeHeader(bytes: Uint8Array, at: number): FrameHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, HEADER_BYTES);
  return {
    headerOk: view.getUint32(0, true) === crc32c(bytes.subarray(at + 4, at + HEADER_BYTES)),
    length: view.getUint32(4, true),
    seq: view.getUint32(8, true) + view.getUint32(12, true) * 0x1_0000_0000,
    payloadCrc: view.getUint32(16, true),
  };
}

export function payloadOk(bytes: Uint8Array, at: number, header: FrameHeader): boolean {
  const start = at + HEADER_BYTES;
  return crc32c(bytes.subarray(start, start + header.length)) === header.payloadCrc;
}
