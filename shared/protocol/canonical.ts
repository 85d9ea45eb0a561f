// RFC 8785 canonical bytes and SHA-256 hashes of protocol objects.
import canonicalize from "canonicalize";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

const encoder = new TextEncoder();

export const ZERO_HASH = "0".repeat(64);

/** RFC 8785 (JCS) serialisation as a string. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError("value has no JSON form");
  return text;
}

/** RFC 8785 canonical bytes (UTF-8). */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalJson(value));
}

/** Lower-case hex SHA-256 of the canonical bytes. */
export function hashCanonical(value: unknown): string {
  return bytesToHex(sha256(canonicalBytes(value)));
}

export function sha256Hex(bytes: Uint8Array): string {
  return bytesToHex(sha256(bytes));
}
