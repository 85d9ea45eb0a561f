// A record's canonical bytes (RFC 8785, DESIGN.md §4) and hash on the site's hot path. The same
// bytes as shared/protocol's `canonicalBytes` (record-bytes.test.ts holds them equal), made faster
// for what the collector signs: records hold only strings, safe integers, booleans, objects and
// arrays, for which JCS is JSON.stringify with every object's keys sorted by UTF-16 code units —
// so the keys are sorted once per shape of object met and the native serialiser does the rest.
// SHA-256 is node:crypto's.
import { hash } from "node:crypto";

/** Canonical JSON text of a record (or any JSON value of strings, safe integers, booleans). */
export function canonicalRecordJson(value: unknown): string {
  digitKey = false;
  const text = JSON.stringify(sortedKeys(value));
  // A key like "10" is an array index: every JS object lists those first, whatever the insertion
  // order. No record field is named so, but a value that has one is serialised key by key.
  return digitKey ? canonicalText(value) : text;
}

/** Whether the last sortedKeys met a key starting with a digit. */
let digitKey = false;

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
  // An ordinary object with its keys inserted in sorted order: objects of one shape share a hidden
  // class, which the native serialiser walks fast (a null-prototype object is a slow dictionary).
  const out: Record<string, unknown> = {};
  const source = value as Record<string, unknown>;
  const shape = shapeOf(Object.keys(source));
  if (shape.digitKey) digitKey = true;
  for (const key of shape.sorted) {
    const v = source[key];
    if (v === undefined) continue;
    // "__proto__" stays a key (as in shared/protocol's reader), never the prototype.
    if (key === "__proto__") Object.defineProperty(out, key, { value: sortedKeys(v), enumerable: true, writable: true, configurable: true });
    else out[key] = sortedKeys(v);
  }
  return out;
}

/** An object's keys in insertion order, the same sorted by UTF-16 code units, and whether one
 *  starts with a digit. */
interface Shape { keys: string[]; sorted: string[]; digitKey: boolean }

/** Shapes met. A site's records come in a handful (the envelope, usage with or without
 *  version/product, denial, heartbeat): their keys are sorted once, not per record. Past
 *  SHAPES_KEPT shapes (not a record's), the oldest met is replaced. */
const shapes: Shape[] = [];
const SHAPES_KEPT = 16;
let replaced = 0;

function shapeOf(keys: string[]): Shape {
  for (const shape of shapes) if (sameKeys(shape.keys, keys)) return shape;
  let digit = false;
  for (const key of keys) {
    const c = key.charCodeAt(0);
    if (c >= 48 && c <= 57) digit = true;
  }
  const shape = { keys, sorted: inOrder(keys) ? keys : [...keys].sort(), digitKey: digit };
  if (shapes.length < SHAPES_KEPT) shapes.push(shape);
  else shapes[replaced++ % SHAPES_KEPT] = shape;
  return shape;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether the keys are sorted by UTF-16 code units already (as Array#sort would put them). */
function inOrder(keys: string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (keys[i - 1]! > keys[i]!) return false;
  return true;
}

/** The canonical text built key by key (any keys; slower). */
function canonicalText(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalText(v))).join(",")}]`;
  const source = value as Record<string, unknown>;
  const keys = Object.keys(source).filter((k) => source[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalText(source[k])}`).join(",")}}`;
}
