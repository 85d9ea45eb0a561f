// The backup file: a POSIX tar (ustar), optionally gzip'd (a name ending in .gz), streamed both
// ways so a backup never needs its whole size in memory. Regular files only; names longer than
// 100 bytes use ustar's 155-byte prefix; sizes of 8 GiB or more use GNU's base-256 size field,
// which GNU and BSD tar read, so `tar -tvf backup.tar` lists a backup.
import { createReadStream, createWriteStream } from "node:fs";
import { once } from "node:events";
import type { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";

const BLOCK = 512;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

export function tarHeader(name: string, size: number, mtimeS: number, mode = 0o600): Buffer {
  const header = Buffer.alloc(BLOCK);
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`tar: name too long: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  header.write(base, 0, 100, "utf8");
  header.write(octal(mode, 8), 100, 8, "ascii");
  header.write(octal(0, 8), 108, 8, "ascii");
  header.write(octal(0, 8), 116, 8, "ascii");
  if (size < 8 ** 11) {
    header.write(octal(size, 12), 124, 12, "ascii");
  } else {
    header[124] = 0x80;
    let rest = BigInt(size);
    for (let i = 135; i > 124; i--) {
      header[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }
  header.write(octal(Math.floor(mtimeS), 12), 136, 12, "ascii");
  header.write("        ", 148, 8, "ascii");
  header.write("0", 156, 1, "ascii");
  header.write("ustar\0", 257, 6, "ascii");
  header.write("00", 263, 2, "ascii");
  header.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(octal(sum, 7) + " ", 148, 8, "ascii");
  return header;
}

function parseSize(field: Buffer): number {
  if (field[0]! & 0x80) {
    let value = 0n;
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i]!);
    return Number(value);
  }
  return parseInt(field.toString("ascii").replace(/\0.*$/, "").trim() || "0", 8);
}

function cString(field: Buffer): string {
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? field.length : end).toString("utf8");
}

/** Writes entries to `file` (gzip'd when it ends in .gz). */
export class TarWriter {
  readonly #out: Writable;
  readonly #done: Promise<void>;

  constructor(file: string) {
    const sink = createWriteStream(file, { mode: 0o600 });
    if (file.endsWith(".gz")) {
      const gzip = createGzip();
      this.#done = pipeline(gzip, sink);
      this.#out = gzip;
    } else {
      this.#done = once(sink, "close").then(() => undefined);
      this.#out = sink;
    }
  }

  async #write(chunk: Buffer): Promise<void> {
    if (!this.#out.write(chunk)) await once(this.#out, "drain");
  }

  async addBuffer(name: string, data: Buffer): Promise<void> {
    await this.#write(tarHeader(name, data.length, Date.now() / 1000));
    await this.#write(data);
    await this.#pad(data.length);
  }

  /** Streams a file into the archive; `onChunk` sees every byte (for hashing). */
  async addFile(name: string, path: string, size: number, onChunk: (chunk: Buffer) => void): Promise<void> {
    await this.#write(tarHeader(name, size, Date.now() / 1000));
    let written = 0;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      onChunk(chunk);
      written += chunk.length;
      await this.#write(chunk);
    }
    if (written !== size) throw new Error(`tar: ${path} changed size while archived (${size} → ${written})`);
    await this.#pad(size);
  }

  async #pad(size: number): Promise<void> {
    const rest = size % BLOCK;
    if (rest !== 0) await this.#write(Buffer.alloc(BLOCK - rest));
  }

  async finish(): Promise<void> {
    await this.#write(Buffer.alloc(2 * BLOCK));
    this.#out.end();
    await this.#done;
  }
}

/** What the reader refuses: not a tar (or not gzip), truncated, a damaged header. */
export class TarError extends Error {}

export interface TarEntry {
  name: string;
  size: number;
  /** The entry's bytes; must be consumed before the next entry is read. */
  body: AsyncIterable<Buffer>;
}

/** Reads the entries of `file` in order (gunzip'd when it ends in .gz). */
export async function* readTar(file: string): AsyncGenerator<TarEntry> {
  const source: Readable = file.endsWith(".gz") ? createReadStream(file).pipe(createGunzip()) : createReadStream(file);
  const chunks = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let buffer = Buffer.alloc(0);
  const fill = async (n: number): Promise<boolean> => {
    while (buffer.length < n) {
      const next = await chunks.next().catch((e: NodeJS.ErrnoException) => {
        throw e.code?.startsWith("Z_") ? new TarError(`${file}: not gzip data (${e.message})`) : e;
      });
      if (next.done) return false;
      buffer = buffer.length === 0 ? next.value : Buffer.concat([buffer, next.value]);
    }
    return true;
  };
  for (;;) {
    if (!(await fill(BLOCK))) throw new TarError(`${file}: truncated tar (no end marker)`);
    const header = buffer.subarray(0, BLOCK);
    buffer = buffer.subarray(BLOCK);
    if (header.every((b: number) => b === 0)) return;
    const stored = parseInt(header.subarray(148, 156).toString("ascii").replace(/\0.*$/, "").trim(), 8);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : header[i]!;
    if (stored !== sum) throw new TarError(`${file}: damaged tar header (checksum)`);
    const prefix = cString(header.subarray(345, 500));
    const name = (prefix ? `${prefix}/` : "") + cString(header.subarray(0, 100));
    const type = String.fromCharCode(header[156]!);
    if (type !== "0" && type !== "\0") throw new TarError(`${file}: unexpected tar entry type ${JSON.stringify(type)} for ${name}`);
    const size = parseSize(header.subarray(124, 136));
    let left = size;
    let consumed = false;
    async function* body(): AsyncGenerator<Buffer> {
      while (left > 0) {
        if (buffer.length === 0 && !(await fill(1))) throw new TarError(`${file}: truncated in ${name}`);
        const take = buffer.subarray(0, Math.min(left, buffer.length));
        buffer = buffer.subarray(take.length);
        left -= take.length;
        yield take;
      }
      consumed = true;
    }
    yield { name, size, body: body() };
    if (!consumed) for await (const _ of body()) { /* skip what the caller did not read */ }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (!(await fill(pad))) throw new TarError(`${file}: truncated after ${name}`);
    buffer = buffer.subarray(pad);
  }
}

export async function bodyToBuffer(body: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

