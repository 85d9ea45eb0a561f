// Generated line files for the parse benchmarks, and the baseline they are measured against: the
// same file read and split into lines.
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { LineSplitter } from "../collector/sources/line-splitter.ts";

/** Lines written to a file in batches (`flush` when `pending` is large enough): lines and bytes so far. */
export class LineFile {
  lines = 0;
  bytes = 0;
  #pending: string[] = [];
  readonly #fh: FileHandle;

  private constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  static async create(file: string): Promise<LineFile> {
    return new LineFile(await open(file, "w"));
  }

  get pending(): number {
    return this.#pending.length;
  }

  push(line: string): void {
    this.#pending.push(line);
  }

  async flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const text = this.#pending.join("\n") + "\n";
    await this.#fh.write(text);
    this.bytes += Buffer.byteLength(text);
    this.lines += this.#pending.length;
    this.#pending = [];
  }

  async close(): Promise<void> {
    await this.flush();
    await this.#fh.close();
  }
}

/** Reads `file` in reads of `highWaterMark` bytes and splits it into lines: its line count and the time taken (ms). */
export async function readAndSplit(file: string, highWaterMark = 1 << 20): Promise<{ lines: number; ms: number }> {
  const t0 = performance.now();
  let lines = 0;
  const splitter = new LineSplitter();
  for await (const chunk of createReadStream(file, { highWaterMark })) lines += splitter.push(chunk as Buffer).length;
  lines += splitter.end().length;
  return { lines, ms: performance.now() - t0 };
}
