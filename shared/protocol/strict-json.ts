// A strict JSON reader for signed data: rejects duplicate keys, floats and unsafe integers,
// which JSON.parse silently accepts (a duplicate key would let two parties hash different
// objects from the same bytes). Returns plain objects, arrays, strings, integers, booleans, null.

export class StrictJsonError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(`${message} at offset ${offset}`);
    this.offset = offset;
  }
}

export interface StrictJsonLimits {
  /** Maximum nesting of arrays/objects (bounded work on hostile input). */
  maxDepth?: number;
}

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

export function parseStrictJson(text: string, limits: StrictJsonLimits = {}): unknown {
  const maxDepth = limits.maxDepth ?? 32;
  let i = 0;

  const fail = (message: string): never => { throw new StrictJsonError(message, i); };
  const skipWs = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };

  const parseString = (): string => {
    // text[i] is the opening quote. Find the closing quote; a string without escapes is its slice,
    // one with escapes is decoded by JSON.parse (a batch's strings almost never have any).
    const start = i;
    let escaped = false;
    i++;
    for (;;) {
      if (i >= text.length) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) { escaped = true; i += 2; }
      else if (c < 0x20) fail("control character in string");
      else i++;
    }
    i++;
    const value = escaped ? JSON.parse(text.slice(start, i)) as string : text.slice(start + 1, i - 1);
    if (!value.isWellFormed()) fail("lone surrogate in string");
    return value;
  };

  const parseNumber = (): number => {
    // -?(0|[1-9][0-9]*), and nothing of a fraction or exponent after it.
    const start = i;
    if (text.charCodeAt(i) === 0x2d) i++;
    const first = text.charCodeAt(i);
    if (first === 0x30) i++;
    else if (first >= 0x31 && first <= 0x39) while (i < text.length && isDigit(text.charCodeAt(i)) && i - start < 40) i++;
    else { i = start; fail("invalid number"); }
    const next = text.charCodeAt(i);
    if (next === 0x2e || next === 0x65 || next === 0x45) { i = start; fail("floats are not allowed in signed data"); }
    const value = Number(text.slice(start, i));
    if (!Number.isSafeInteger(value)) { i = start; fail("unsafe integer"); }
    if (Object.is(value, -0)) { i = start; fail("negative zero"); }
    return value;
  };

  const parseValue = (depth: number): unknown => {
    skipWs();
    if (depth > maxDepth) fail("nesting too deep");
    const c = text[i];
    if (c === "{") {
      i++;
      const obj: Record<string, unknown> = {};
      skipWs();
      if (text[i] === "}") { i++; return obj; }
      for (;;) {
        skipWs();
        if (text[i] !== '"') fail("expected a key");
        const key = parseString();
        if (Object.hasOwn(obj, key)) fail(`duplicate key ${JSON.stringify(key)}`);
        skipWs();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        const value = parseValue(depth + 1);
        // defineProperty: a "__proto__" key is data, never the prototype.
        if (key === "__proto__") Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        else obj[key] = value;
        skipWs();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return obj; }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr: unknown[] = [];
      skipWs();
      if (text[i] === "]") { i++; return arr; }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipWs();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return arr; }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return parseString();
    if (c === "t" && text.startsWith("true", i)) { i += 4; return true; }
    if (c === "f" && text.startsWith("false", i)) { i += 5; return false; }
    if (c === "n" && text.startsWith("null", i)) { i += 4; return null; }
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return parseNumber();
    return fail("unexpected token");
  };

  const value = parseValue(0);
  skipWs();
  if (i !== text.length) fail("trailing data");
  return value;
}
