// FileTail: follow a growing log file by polling (fs.stat + read), portable to every OS the
// collector runs on. Returns only complete lines; a line written in two halves waits until its
// terminator arrives. The position (byte offset after the last complete line + file identity) is
// plain JSON so the caller can persist it together with the parser state it belongs to.
//
// - Rotation (the path now names another file: inode/device changed): the rest of the old file is
//   read through the still-open descriptor (its unterminated last line counts as a line: the
//   writer has moved on), then the new file is read from its start.
// - copytruncate (the file shrank below our offset, or its first bytes changed): read from the
//   start again. Lines written between our last poll and the truncation are lost: copytruncate
//   itself loses them; poll often.
// - Restart: a saved position whose identity still matches resumes at its offset; if the file was
//   replaced meanwhile, the new file is read from the start (`rotations_missed` counts it).
import { open, stat, type FileHandle } from "node:fs/promises";

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
}

const HEAD_BYTES = 64;
const CHUNK = 4 * 1024 * 1024;

export class FileTail {
  readonly path: string;
  private pos: TailPosition | undefined;
  private fh: FileHandle | undefined;
  private resumed: boolean;
  readonly stats: TailStats = { rotations: 0, truncations: 0, rotations_missed: 0 };

  constructor(path: string, position?: TailPosition) {
    this.path = path;
    this.pos = position ? { ...position } : undefined;
    this.resumed = position !== undefined;
  }

  position(): TailPosition | undefined {
    return this.pos ? { ...this.pos } : undefined;
  }

  /** Whether the last poll stopped at `maxBytes` before the end of the file. */
  more = false;

  /**
   * New complete lines since the last call ([] when the file does not exist yet): at most about
   * `maxBytes` of the file (then `more` is set), so a long backlog is read a slice at a time.
   */
  async poll(maxBytes = Infinity): Promise<string[]> {
    this.more = false;
    let st;
    try {
      st = await stat(this.path, { bigint: false });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const lines: string[] = [];
    if (this.pos && (this.pos.ino !== st.ino || this.pos.dev !== st.dev)) {
      if (this.fh && !this.resumed) {
        lines.push(...(await this.drain(this.fh, true)));
        this.stats.rotations++;
      } else this.stats.rotations_missed++;
      await this.closeHandle();
      this.pos = undefined;
    }
    if (!this.fh) this.fh = await open(this.path, "r");
    if (!this.pos) this.pos = { dev: st.dev, ino: st.ino, offset: 0, head: "" };
    this.resumed = false;
    if (st.size < this.pos.offset || (this.pos.head !== "" && (await this.readHead()).slice(0, this.pos.head.length) !== this.pos.head)) {
      this.stats.truncations++;
      this.pos.offset = 0;
      this.pos.head = "";
    }
    lines.push(...(await this.drain(this.fh, false, maxBytes)));
    if (this.pos.head.length < 2 * HEAD_BYTES) this.pos.head = await this.readHead();
    return lines;
  }

  async close(): Promise<void> {
    await this.closeHandle();
  }

  /** Poll every `intervalMs` until `signal` aborts, handing each batch of lines to `onLines`. */
  async follow(onLines: (lines: string[]) => Promise<void> | void, intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const lines = await this.poll();
      if (lines.length > 0) await onLines(lines);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, intervalMs);
        signal.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
      });
    }
    await this.close();
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

  /** Read complete lines from the offset to the end of `fh`; `final` takes an unterminated tail too. */
  private async drain(fh: FileHandle, final: boolean, maxBytes = Infinity): Promise<string[]> {
    const pos = this.pos!;
    const lines: string[] = [];
    const from = pos.offset;
    let carry = Buffer.alloc(0);
    for (;;) {
      if (pos.offset - from >= maxBytes) {
        this.more = true;
        break;
      }
      const size = Math.min(CHUNK, Math.max(64 * 1024, maxBytes - (pos.offset - from)));
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await fh.read(buf, 0, size, pos.offset + carry.length);
      if (bytesRead === 0) break;
      const data = carry.length > 0 ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
      const lastLf = data.lastIndexOf(10);
      if (lastLf < 0) {
        carry = Buffer.from(data);
        continue;
      }
      lines.push(...decodeLines(data.subarray(0, lastLf), pos.offset === 0));
      pos.offset += lastLf + 1;
      carry = Buffer.from(data.subarray(lastLf + 1));
    }
    if (final && carry.length > 0) {
      lines.push(...decodeLines(carry, pos.offset === 0));
      pos.offset += carry.length;
    }
    return lines;
  }
}

function decodeLines(bytes: Buffer, atFileStart: boolean): string[] {
  let text = bytes.toString("utf8");
  if (atFileStart && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return text.split("\n").map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l));
}
