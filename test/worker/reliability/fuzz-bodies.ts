// Request bodies for the malformed-input fuzzing (Guarantee 4), as fast-check arbitraries:
// garbage (random JSON, text, bytes, deep nesting, huge strings and numbers, unicode) and
// structurally-valid-but-wrong bodies (a valid template with a field of the wrong type or value,
// a field missing, fields added). Numbers JSON cannot hold are written as raw text markers.
import fc from "fast-check";

/** A JSON string value that stands for raw JSON text (1e400, 2^70, …) once serialised. */
const RAW = "\u0000raw:";
export const raw = (text: string): string => `${RAW}${text}`;

export function serialise(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0000raw:([^"]*)"/g, "$1");
}

export const HUGE_NUMBERS = ["1e400", "-1e400", "123456789012345678901234567890", "9007199254740993", "-9007199254740993", "1.5", "-0", "0.1e-400", "1E+308"];

/** Values of every JSON type, including the awkward ones. */
const anyValue = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, "", [], {}, "\ud800", "x".repeat(300)),
  fc.constantFrom(...HUGE_NUMBERS).map(raw),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A value of a type other than the template's (so it can never pass that field's schema). */
export function wrongTypeFor(value: unknown): fc.Arbitrary<unknown> {
  const others: fc.Arbitrary<unknown>[] = [];
  if (typeof value !== "string") others.push(fc.string({ unit: "grapheme", maxLength: 20 }), fc.constant("1"));
  if (typeof value !== "number") others.push(fc.integer(), fc.constantFrom(...HUGE_NUMBERS.slice(0, 3)).map(raw));
  else others.push(fc.constantFrom("1.5", "1e400", "-1e400", "123456789012345678901234567890").map(raw));
  if (typeof value !== "boolean") others.push(fc.boolean());
  if (value !== null) others.push(fc.constant(null));
  if (!Array.isArray(value)) others.push(fc.array(anyValue, { maxLength: 3 }));
  if (typeof value !== "object" || value === null || Array.isArray(value)) others.push(fc.dictionary(fc.string({ maxLength: 5 }), anyValue, { maxKeys: 3 }));
  return fc.oneof(...others);
}

export interface Template {
  /** A body the endpoint would accept (or refuse only for its content, e.g. an unknown token). */
  body: Record<string, unknown>;
  /** Dotted paths of fields whose type the schema fixes (a wrong type is always refused). */
  typed: string[];
  /** Dotted paths of required fields (removing one is always refused). */
  required: string[];
  /** Values of the right type that are still wrong (bad zone, unknown id, out of range…). */
  wrongValues?: Record<string, unknown[]>;
}

function setPath(target: Record<string, unknown>, path: string, value: unknown | typeof REMOVE): void {
  const keys = path.split(".");
  let node = target;
  for (const k of keys.slice(0, -1)) node = node[k] as Record<string, unknown>;
  const last = keys[keys.length - 1]!;
  if (value === REMOVE) delete node[last];
  else node[last] = value;
}
const REMOVE = Symbol("remove");

function getPath(target: Record<string, unknown>, path: string): unknown {
  return path.split(".").reduce<unknown>((node, k) => (node as Record<string, unknown>)[k], target);
}

/** The template with one sure defect (wrong type, missing required field or wrong value), plus
 * sometimes extra fields and unicode in other string fields. */
export function wrongBody(t: Template): fc.Arbitrary<{ body: string; defect: string }> {
  const defects: fc.Arbitrary<[string, unknown]>[] = [];
  if (t.typed.length) defects.push(fc.constantFrom(...t.typed).chain((p) => wrongTypeFor(getPath(t.body, p)).map((v): [string, unknown] => [`${p}: wrong type`, v])));
  if (t.required.length) defects.push(fc.constantFrom(...t.required).map((p): [string, unknown] => [`${p}: missing`, REMOVE]));
  const wrong = Object.entries(t.wrongValues ?? {});
  if (wrong.length) defects.push(fc.constantFrom(...wrong).chain(([p, vs]) => fc.constantFrom(...vs).map((v): [string, unknown] => [`${p}: wrong value`, v])));
  return fc.tuple(
    fc.oneof(...defects),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !(k in t.body)), anyValue, { maxKeys: 3 }),
  ).map(([[path, value], extra]) => {
    const body = structuredClone(t.body);
    const defectPath = path.slice(0, path.indexOf(":"));
    setPath(body, defectPath, value);
    return { body: serialise({ ...body, ...extra }), defect: path + (Object.keys(extra).length ? " + extra fields" : "") };
  });
}

/** Deep nesting, either kind of bracket. */
export const deepNesting = fc.tuple(fc.constantFrom(64, 1000, 20_000), fc.boolean()).map(([depth, arrays]) =>
  arrays ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth));

/** Bodies that are not what any endpoint takes. */
export const garbageBody: fc.Arbitrary<{ body: string | Uint8Array; defect: string }> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => ({ body: JSON.stringify(v), defect: "random JSON" })),
  fc.string({ unit: "binary", maxLength: 200 }).map((s) => ({ body: s, defect: "random text" })),
  fc.uint8Array({ maxLength: 200 }).map((b) => ({ body: b, defect: "random bytes" })),
  fc.constant({ body: "", defect: "empty" }),
  deepNesting.map((s) => ({ body: s, defect: "deep nesting" })),
  fc.constantFrom(70 * 1024, 200 * 1024).map((n) => ({ body: JSON.stringify({ name: "x".repeat(n) }), defect: "huge string" })),
  fc.constantFrom(...HUGE_NUMBERS).map((n) => ({ body: `{"name":${n},"amount":${n},"seq":${n}}`, defect: "huge number" })),
  fc.dictionary(fc.string({ unit: "grapheme", maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 30 }), { maxKeys: 4 })
    .map((o) => ({ body: JSON.stringify(o), defect: "unicode object" })),
  // A UTF-8 BOM before JSON is not generated: RFC 8259 lets a reader ignore it, and the edge
  // does, so "\ufeff{}" is the valid body `{}` on routes whose body is optional.
  fc.constantFrom('{"a":1,"a":2}', "{}garbage", "[1,2,", "nul", '{"__proto__":{"admin":true}}', '{"name":"ok","__proto__":{"x":1}}', '{"name":"\\ud800"}', '{"name":"ok","\\udc00":1}')
    .map((s) => ({ body: s, defect: "edge-case JSON" })),
);

export const CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/octet-stream", "application/json; charset=utf-16"];
