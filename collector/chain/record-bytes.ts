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

/**
 * Writes chain records' canonical bytes straight into a buffer: those of `nextRecord(collectorId,
 * {seq: seq - 1, hash: prev}, ts, body)` without building that record, nor its whole text — its
 * keys sort as collector_id, data, kind, prev, seq, ts, v, so it is a constant prefix, the data's
 * text and a short tail (seq and ts are safe integers: their JSON is their decimal digits).
 */
export class ChainRecordEncoder {
  /** `{"collector_id":…,"data":` */
  readonly #prefix: Buffer;
  readonly #collectorId: string;
  #kind = "";
  #kindJson = '""';
  /** What the last `write` that did not fit needed after `at`. */
  need = 0;

  constructor(collectorId: string) {
    this.#collectorId = collectorId;
    this.#prefix = Buffer.from(`{"collector_id":${JSON.stringify(collectorId)},"data":`);
  }

  /** The record's bytes at `out[at …]`; returns where they end, or −1 (nothing written, `need`
   *  set) when `out` might not have room for them. */
  write(out: Buffer, at: number, seq: number, prev: string, ts: number, body: { kind: string; data: unknown }): number {
    if (body.data === undefined || !Number.isSafeInteger(seq) || !Number.isSafeInteger(ts)) {
      const text = canonicalRecordJson({ v: 1, collector_id: this.#collectorId, seq, prev, ts, kind: body.kind, data: body.data });
      return this.#fits(out, at, text.length * 3) ? at + out.write(text, at, text.length * 3, "utf8") : -1;
    }
    const data = canonicalRecordJson(body.data);
    if (body.kind !== this.#kind) this.#kindJson = JSON.stringify((this.#kind = body.kind));
    const tail = `,"kind":${this.#kindJson},"prev":${JSON.stringify(prev)},"seq":${seq},"ts":${ts},"v":1}`;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: with this much room `write` never cuts.
    // (Given as the length, too: without it the write is several times slower on a big buffer.)
    if (!this.#fits(out, at, this.#prefix.length + (data.length + tail.length) * 3)) return -1;
    out.set(this.#prefix, at);
    let end = at + this.#prefix.length;
    end += out.write(data, end, data.length * 3, "utf8");
    return end + out.write(tail, end, tail.length * 3, "utf8");
  }

  #fits(out: Buffer, at: number, room: number): boolean {
    this.need = room;
    return at + room <= out.length;
  }
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
  // An ordinary object with its keys inserted in sorted order: objects of one shape share a hidden
  // class, which the native serialiser walks fast (a null-prototype object is a slow dictionary).
  const source = value as Record<string, unknown>;
  const shape = shapeOf(Object.keys(source));
  if (shape.digitKey) digitKey = true;
  if (shape.copy) return shape.copy(source, sortedKeys);
  const out: Record<string, unknown> = {};
  for (const key of shape.sorted) {
    const v = source[key];
    if (v === undefined) continue;
    // "__proto__" stays a key (as in shared/protocol's reader), never the prototype.
    if (key === "__proto__") Object.defineProperty(out, key, { value: sortedKeys(v), enumerable: true, writable: true, configurable: true });
    else out[key] = sortedKeys(v);
  }
  return out;
}

/** An object's keys in insertion order, the same sorted by UTF-16 code units, whether one
 *  starts with a digit, and a copier that makes the sorted object (not for "__proto__" or digit keys). */
interface Shape { keys: string[]; sorted: string[]; digitKey: boolean; copy: Copier | undefined }

type Copier = (source: Record<string, unknown>, inner: (value: unknown) => unknown) => unknown;

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
  const sorted = inOrder(keys) ? keys : [...keys].sort();
  const shape = { keys, sorted, digitKey: digit, copy: digit || keys.includes("__proto__") ? undefined : copierOf(sorted) };
  if (shapes.length < SHAPES_KEPT) shapes.push(shape);
  else shapes[replaced++ % SHAPES_KEPT] = shape;
  return shape;
}

/**
 * A function that builds the object with `sorted` keys as one object literal — half the time of a
 * copy key by key, which was most of a record's canonical bytes. An undefined value keeps its key,
 * which JSON.stringify leaves out as the key-by-key copy does.
 */
function copierOf(sorted: string[]): Copier {
  const fields = sorted.map((key) => {
    const k = JSON.stringify(key);
    return `${k}: (v = s[${k}], typeof v === "object" && v !== null ? inner(v) : v)`;
  });
  return new Function("s", "inner", `let v; return { ${fields.join(", ")} };`) as Copier;
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
