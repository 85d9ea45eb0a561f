// How a log file is recognised whatever its name: SHA-256 of its first bytes (up to 64 KiB — a
// license server's log starts with a banner naming the server and the second it started). A file
// "is" a file read before when it is at least as long and its first `bytes` hash the same, so a
// file that grew, or a rotated copy of the file the daemon followed, is known.
import { createHash } from "node:crypto";
import { open } from "node:fs/promises";

export interface Fingerprint { bytes: number; sha256: string }

export const FINGERPRINT_BYTES = 64 * 1024;

/** The fingerprint of the first min(upTo, 64 KiB) bytes of `path`. */
export async function fingerprintFile(path: string, upTo: number = FINGERPRINT_BYTES): Promise<Fingerprint> {
  const want = Math.min(upTo, FINGERPRINT_BYTES);
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(want);
    const { bytesRead } = await handle.read(buf, 0, want, 0);
    return { bytes: bytesRead, sha256: createHash("sha256").update(buf.subarray(0, bytesRead)).digest("hex") };
  } finally {
    await handle.close();
  }
}

/** Whether `path` starts with the bytes `known` fingerprints. */
export async function startsWith(path: string, known: Fingerprint): Promise<boolean> {
  const found = await fingerprintFile(path, known.bytes);
  return found.bytes === known.bytes && found.sha256 === known.sha256;
}

/** `startsWith` for many fingerprints: the file's first 64 KiB read once, each length hashed once. */
export async function prefixMatcher(path: string): Promise<(known: Fingerprint) => boolean> {
  const handle = await open(path, "r");
  const buf = Buffer.alloc(FINGERPRINT_BYTES);
  let bytesRead: number;
  try {
    ({ bytesRead } = await handle.read(buf, 0, FINGERPRINT_BYTES, 0));
  } finally {
    await handle.close();
  }
  const hashes = new Map<number, string>();
  return (known) => {
    if (known.bytes > bytesRead) return false;
    let sha256 = hashes.get(known.bytes);
    if (sha256 === undefined) hashes.set(known.bytes, (sha256 = createHash("sha256").update(buf.subarray(0, known.bytes)).digest("hex")));
    return sha256 === known.sha256;
  };
}
