// FileTail: follow a growing log file by polling (fs.stat + read), portable to every OS the
// collector runs on. Reads in bounded chunks and returns only complete lines; a line written in
// two halves waits until its terminator arrives. The position (byte offset after the last
// complete line + file identity) is plain JSON, so the caller persists it together with the parser
// state it belongs to — and only once what those lines produced is durable: `read` moves the
// position in memory only; a caller that could not keep the lines reopens from its saved position.
//
// - Backlog: each `read` takes at most `maxBytes` (default 4 MiB), so a first start on a 1 GB log
//   is many bounded reads, never one huge array.
// - Rotation (the path now names another file: inode/device changed): the rest of the old file is
//   read through the still-open descriptor, in chunks (its unterminated last line counts as a
//   line: the writer has moved on), then the new file from its start.
// - copytruncate (the file shrank below our offset, or its first bytes changed): read from the
//   start again. Lines written between our last read and the truncation are lost: copytruncate
//   itself loses them; poll often.
// - Restart: a saved position whose identity still matches resumes at its offset; if the file was
//   replaced meanwhile, the new file is read from the start (`rotations_missed` counts it).
// - Encoding: any ASCII-compatible WHATWG encoding (lines are split on the byte 0x0A); a UTF-8 BOM
//   at the start of the file is dropped.
import { open, stat, type FileHandle } from "node:fs/promises";
import { chunkOf, decoderFor, type LineBytes, type TailChunk } from "./tail-chunk.ts";
import { ReadAhead, SliceBuffers } from "./read-ahead.ts";

export interface TailPosition {
  dev: number;
  ino: number;
  offset: number;
  /** Hex of the file's first bytes (up to 64): tells a truncated-and-rewritten file from ours. */
  head: string;
}

export interface TailStats {
  rotations: number;
  truncations: number;
  rotations_missed: number;
  /** Lines longer than MAX_LINE_BYTES, skipped (a binary file, or no line terminators at all). */
  oversized_lines: number;
}

export interface TailOptions {
  /** WHATWG label of the file's encoding (default utf-8); see `lineEncodingProblem`. */
  encoding?: string;
  /** With no saved position, start after the file's last complete line instead of at byte 0. */
  startAtEnd?: boolean;
  /** The reader is done with each chunk before it reads the one after: two read buffers serve
   *  every read in turn (read-ahead.ts), instead of a new one per read. */
  reuseBuffers?: boolean;
}

export const DEFAULT_CHUNK_BYTES = 4 * 1024 * 1024;
/** A longer "line" is skipped rather than held in memory whole. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const HEAD_BYTES = 64;
const LF = 10;

export class FileTail {
  readonly path: string;
  readonly stats: TailStats = { rotations: 0, truncations: 0, rotations_missed: 0, oversized_lines: 0 };
  private pos: TailPosition | undefined;
  private fh: FileHandle | undefined;
  /** The rotated-away file still being read to its end. */
  private draining = false;
  private resumed: boolean;
  private size = 0;
  /** mtime of the file as of the last read that found nothing new (the cheap idle check). */
  private idleMtime = -1;
  /** mtime as of the last `read`'s stat (size: `size`). */
  private statMtime = -1;
  private readonly buffers: SliceBuffers;
  private readonly ahead: ReadAhead;
  private readonly decode: (bytes: Buffer) => string;
  /** Only for the very first file this tail opens without a saved position. */
  private startAtEnd: boolean;

  constructor(path: string, position?: TailPosition, options: TailOptions = {}) {
    this.path = path;
    this.pos = position ? { ...position } : undefined;
    this.resumed = position !== undefined;
    this.startAtEnd = position === undefined && options.startAtEnd === true;
    this.decode = decoderFor(options.encoding ?? "utf-8");
    this.buffers = new SliceBuffers(options.reuseBuffers === true);
    this.ahead = new ReadAhead(this.buffers);
  }

  /**
   * A tail going on from `position` with the file already open, as if it had read up to there itself
   * (a reader taking the reading over from its step worker, line-reader.ts): a rotation from now on
   * is drained, and `readRest` reads the file's end. A file no longer there, or another file at the
   * path, is what a restart from `position` finds.
   */
  static async continued(path: string, position: TailPosition | undefined, options: TailOptions = {}): Promise<FileTail> {
    const tail = new FileTail(path, position, options);
    if (position === undefined) return tail;
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return tail;
      throw err;
    }
    const st = await fh.stat();
    if (st.ino !== position.ino || st.dev !== position.dev) {
      await fh.close();
      return tail;
    }
    tail.fh = fh;
    tail.resumed = false;
    tail.size = st.size;
    return tail;
  }

  position(): TailPosition | undefined {
    return this.pos ? { ...this.pos } : undefined;
  }

  /** Where the reading stands in the file being read (for progress), as of the last read. */
  progress(): { offset: number; size: number } {
    return { offset: this.pos?.offset ?? 0, size: this.size };
  }

  /** The next complete lines, from at most `maxBytes` of the file (fewer lines, never more, than
   *  a whole read would give). [] when nothing is new or the file does not exist yet. */
  async read(maxBytes = DEFAULT_CHUNK_BYTES): Promise<TailChunk> {
    this.ahead.drop();
    if (this.draining) return this.drainRotated(maxBytes);
    let st;
    try {
      st = await stat(this.path, { bigint: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return chunkOf(undefined, 0, true, true);
      throw err;
    }
    if (this.pos && (this.pos.ino !== st.ino || this.pos.dev !== st.dev)) {
      if (this.fh && !this.resumed) {
        this.draining = true;
        this.stats.rotations++;
        return this.drainRotated(maxBytes);
      }
      this.stats.rotations_missed++;
      await this.closeHandle();
      this.pos = undefined;
    }
    // Same file, same size and mtime as when the last read found nothing new: nothing to do.
    if (this.fh && this.pos && !this.resumed && st.size === this.pos.offset && st.mtimeMs === this.idleMtime) return chunkOf(undefined, 0, true);
    if (!this.fh) this.fh = await open(this.path, "r");
    this.size = st.size;
    if (!this.pos) this.pos = { dev: st.dev, ino: st.ino, offset: this.startAtEnd ? await this.endOfLastLine(st.size) : 0, head: "" };
    this.startAtEnd = false;
    this.resumed = false;
    if (st.size < this.pos.offset || (this.pos.head !== "" && (await this.readHead()).slice(0, this.pos.head.length) !== this.pos.head)) {
      this.stats.truncations++;
      this.pos.offset = 0;
      this.pos.head = "";
    }
    const chunk = await this.readChunk(this.fh, maxBytes, false);
    if (this.pos.head.length < 2 * HEAD_BYTES) this.pos.head = await this.readHead();
    this.statMtime = st.mtimeMs;
    this.idleMtime = chunk.caughtUp && this.pos.offset === st.size ? st.mtimeMs : -1;
    return chunk;
  }

  /**
   * More lines from where the last read stopped, within the size that read's stat saw — as if that
   * read had asked for more: no stat, no head check again. For a reader taking its bytes in slices
   * of at most `maxBytes` (line-reader.ts): the next slice is read ahead while this one is parsed.
   * Whatever else (rotated file being drained, nothing known left) is a `read`.
   */
  async readOn(maxBytes: number): Promise<TailChunk> {
    const { fh, pos } = this;
    if (this.draining || !fh || !pos || pos.offset >= this.size || pos.head.length < 2 * HEAD_BYTES) return this.read(maxBytes);
    const chunk = await this.readChunk(fh, maxBytes, false);
    this.idleMtime = chunk.caughtUp && pos.offset === this.size ? this.statMtime : -1;
    if (!chunk.caughtUp && pos.offset < this.size) this.ahead.start(fh, pos.offset, maxBytes);
    return chunk;
  }

  /** A file read once (backfill) ends with its unterminated last line, as `parse` reads it. Call
   *  after `read` said caughtUp; [] when the file ends with a line terminator. */
  async readRest(): Promise<TailChunk> {
    if (!this.fh || !this.pos || this.draining) return chunkOf(undefined, 0, true);
    return this.readChunk(this.fh, MAX_LINE_BYTES, true);
  }

  async close(): Promise<void> {
    this.ahead.drop();
    await this.closeHandle();
  }

  private async drainRotated(maxBytes: number): Promise<TailChunk> {
    const chunk = await this.readChunk(this.fh!, maxBytes, true);
    if (chunk.caughtUp) {
      // The old file is read to its end: the new one starts at its first byte.
      this.draining = false;
      await this.closeHandle();
      this.pos = undefined;
      return { ...chunk, caughtUp: false };
    }
    return chunk;
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }

  private async readHead(): Promise<string> {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await this.fh!.read(buf, 0, HEAD_BYTES, 0);
    return buf.subarray(0, bytesRead).toString("hex");
  }

  /** Offset just after the last line terminator at or before `size` (0 when there is none). */
  private async endOfLastLine(size: number): Promise<number> {
    const step = 64 * 1024;
    for (let end = size; end > 0; end -= step) {
      const start = Math.max(0, end - step);
      const buf = Buffer.allocUnsafe(end - start);
      const { bytesRead } = await this.fh!.read(buf, 0, end - start, start);
      const lf = buf.subarray(0, bytesRead).lastIndexOf(LF);
      if (lf >= 0) return start + lf + 1;
    }
    return 0;
  }

  /** Complete lines from the offset, reading at most about `maxBytes` (more only to finish a line
   *  longer than that); `final` also takes an unterminated tail at the end of the file. */
  private async readChunk(fh: FileHandle, maxBytes: number, final: boolean): Promise<TailChunk> {
    const pos = this.pos!;
    let want = Math.max(1, maxBytes);
    for (;;) {
      const data = (await this.ahead.take(fh, pos.offset, want)) ?? (await this.readAt(fh, pos.offset, want));
      const bytesRead = data.length;
      const atEof = bytesRead < want;
      const lastLf = data.lastIndexOf(LF);
      if (lastLf >= 0) {
        const rest = bytesRead - lastLf - 1;
        const whole = final && atEof && rest > 0; // the file's unterminated end too
        const bytes = whole ? bytesRead : lastLf + 1;
        const content: LineBytes = { bytes: data.subarray(0, bytes), decode: this.decode, atFileStart: pos.offset === 0 };
        pos.offset += bytes;
        return chunkOf(content, bytes, whole || atEof);
      }
      if (atEof) {
        if (final && bytesRead > 0) {
          const content: LineBytes = { bytes: data, decode: this.decode, atFileStart: pos.offset === 0 };
          pos.offset += bytesRead;
          return chunkOf(content, bytesRead, true);
        }
        return chunkOf(undefined, 0, true);
      }
      if (want >= MAX_LINE_BYTES) {
        // No terminator in 16 MiB: not a log line. Skip it, up to the next terminator when one comes.
        const skipped = await this.skipToNextLine(fh, pos.offset + want);
        if (skipped === null) return chunkOf(undefined, 0, true);
        this.stats.oversized_lines++;
        const bytes = skipped - pos.offset;
        pos.offset = skipped;
        return chunkOf(undefined, bytes, false);
      }
      want = Math.min(want * 2, MAX_LINE_BYTES);
    }
  }

  private async readAt(fh: FileHandle, offset: number, want: number): Promise<Buffer> {
    const buf = this.buffers.take(want);
    const { bytesRead } = await fh.read(buf, 0, want, offset);
    return buf.subarray(0, bytesRead);
  }

  /** Offset after the next LF at or after `from`, or null when the file has none (yet). */
  private async skipToNextLine(fh: FileHandle, from: number): Promise<number | null> {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (let at = from; ;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, at);
      if (bytesRead === 0) return null;
      const lf = buf.subarray(0, bytesRead).indexOf(LF);
      if (lf >= 0) return at + lf + 1;
      at += bytesRead;
    }
  }
}
