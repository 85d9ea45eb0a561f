// The text a session id hashes, `prefix key|startMs|ordinal` (session-ids.ts), written as UTF-8 into
// a reused buffer instead of joined into a string: node:crypto hashes the bytes as they are, where a
// joined string would be built, flattened and encoded again for every session. `IdTexts` keeps the
// bytes of `prefix key|` per key, so a session costs a copy of them and its digits, not an encoding
// of its key character by character (sessions of one holder come again and again).
/** Longest prefix + key written here (UTF-16 units, at most 3 bytes each in UTF-8); longer is joined as a string. */
const MAX_CHARS = 400;
/** Keys whose bytes an IdTexts keeps; all are dropped when it has this many. */
const MAX_HEADS = 100_000;
const bytes = new Uint8Array(3 * MAX_CHARS + 32);
const views: Array<Uint8Array | undefined> = [];

/**
 * The UTF-8 bytes of `${prefix}${key}|${seconds}000|${ordinal}` (a view of a buffer reused by the
 * next call), or undefined when that text is not written here: a lone surrogate, over MAX_CHARS,
 * or `seconds` not a whole number in (0, 2³¹) — the caller joins the string then, as before.
 */
export function idText(prefix: string, key: string, seconds: number, ordinal: number): Uint8Array | undefined {
  if (!wholeNumbers(seconds, ordinal)) return undefined;
  const n = writeHead(prefix, key);
  return n < 0 ? undefined : writeTail(n, seconds, ordinal);
}

/** idText for one prefix, with the bytes of `prefix key|` kept per key. */
export class IdTexts {
  private readonly prefix: string;
  /** Per key, the bytes of `prefix key|`, or null when they are not written here. */
  private readonly heads = new Map<string, Uint8Array | null>();

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** As `idText(prefix, key, seconds, ordinal)`. */
  of(key: string, seconds: number, ordinal: number): Uint8Array | undefined {
    if (!wholeNumbers(seconds, ordinal)) return undefined;
    let head = this.heads.get(key);
    if (head === undefined) {
      const n = writeHead(this.prefix, key);
      head = n < 0 ? null : bytes.slice(0, n);
      if (this.heads.size >= MAX_HEADS) this.heads.clear();
      this.heads.set(key, head);
    }
    if (head === null) return undefined;
    bytes.set(head);
    return writeTail(head.length, seconds, ordinal);
  }
}

function wholeNumbers(seconds: number, ordinal: number): boolean {
  return seconds > 0 && seconds < 2 ** 31 && seconds === Math.floor(seconds) && ordinal >= 0 && ordinal < 2 ** 31 && ordinal === Math.floor(ordinal);
}

/** `prefix key|` into bytes[0…]; the end, or -1 when it is not written here. */
function writeHead(prefix: string, key: string): number {
  if (prefix.length + key.length > MAX_CHARS) return -1;
  let n = writeUtf8(prefix, 0);
  if (n >= 0) n = writeUtf8(key, n);
  if (n < 0) return -1;
  bytes[n++] = 124; // |
  return n;
}

/** `seconds000|ordinal` from bytes[n…]; the whole text's view. */
function writeTail(n: number, seconds: number, ordinal: number): Uint8Array {
  const b = bytes;
  n = writeDigits(seconds, n);
  b[n++] = 48;
  b[n++] = 48;
  b[n++] = 48;
  b[n++] = 124;
  n = writeDigits(ordinal, n);
  return (views[n] ??= bytes.subarray(0, n));
}

/** `text` as UTF-8 into bytes[n…]; the end, or -1 for a lone surrogate (which UTF-8 cannot carry). */
function writeUtf8(text: string, n: number): number {
  const b = bytes;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) b[n++] = c;
    else if (c < 0x800) {
      b[n++] = 0xc0 | (c >> 6);
      b[n++] = 0x80 | (c & 63);
    } else if (c < 0xd800 || c > 0xdfff) {
      b[n++] = 0xe0 | (c >> 12);
      b[n++] = 0x80 | ((c >> 6) & 63);
      b[n++] = 0x80 | (c & 63);
    } else {
      const low = text.charCodeAt(i + 1);
      if (c > 0xdbff || !(low >= 0xdc00 && low <= 0xdfff)) return -1;
      const u = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
      b[n++] = 0xf0 | (u >> 18);
      b[n++] = 0x80 | ((u >> 12) & 63);
      b[n++] = 0x80 | ((u >> 6) & 63);
      b[n++] = 0x80 | (u & 63);
      i++;
    }
  }
  return n;
}

/** A whole number in [0, 2³¹) in decimal into bytes[p…]; the end. Int32 arithmetic: a division by 10 is a multiply. */
function writeDigits(value: number, p: number): number {
  let v = value | 0;
  let len = 1;
  for (let x = v; x >= 10; x = (x / 10) | 0) len++;
  for (let i = p + len - 1; i >= p; i--) {
    const q = (v / 10) | 0;
    bytes[i] = 48 + v - q * 10;
    v = q;
  }
  return p + len;
}
