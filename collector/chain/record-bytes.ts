// A record's canonical bytes (RFC 8785, DESIGN.md §4) and hash on the site's hot path. The same
// bytes as shared/protocol's `canonicalBytes` (a property test holds them equal), made faster for
// what the collector signs: records hold only strings, safe integers, booleans, objects and
// arrays, for which JCS is JSON.stringify with every object's keys sorted by UTF-16 code units —
// so the keys are sorted once and the native serialiser does the rest. SHA-256 is node:crypto's.
import { hash } from "node:crypto";

/** Canonical JSON text of a record (or any JSON value of strings, safe integers, booleans). */
export function canonicalRecordJson(value: unknown): string {
  return JSON.stringify(sortedKeys(value));
}

export function canonicalRecordBytes(value: unknown): Uint8Array {
  return Buffer.from(canonicalRecordJson(value), "utf8");
}

/** Lower-case hex SHA-256, as shared/protocol's sha256Hex. */
export function recordHash(bytes: Uint8Array): string {
  return hash("sha256", bytes, "hex");
}

function sortedKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map(sortedKeys);
  // A null prototype, so a "__proto__" key stays a key (as in shared/protocol's reader).
  const out = Object.create(null) as Record<string, unknown>;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source).sort()) {
    const v = source[key];
    if (v !== undefined) out[key] = sortedKeys(v);
  }
  return out;
}
