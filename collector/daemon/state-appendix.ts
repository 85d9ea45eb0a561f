// The append-only file beside a source's state (source-journal.ts) for the part of the state that
// grows with what it remembers — the session tracker's same-second table, two days of session
// starts — so that a step writes what changed, not all that is kept. Each line is JSON: the first
// the whole part as of a compaction, each next one what a step added; a state names its appendix
// as `{file, bytes}`, the file's first `bytes` bytes being its part. Bytes past that (a step that
// failed, or was cut by a crash) are not its: the next step writes over them.
//
// Files are `<state name>.<generation>.jsonl` in the state's folder. When a file has grown to
// COMPACT_FACTOR (8) times its first line, the next step starts a new generation with the whole part
// (written, fsynced and its folder entry made durable before any state names it); a generation
// goes once a written state file names it no more (`prune`).
import { mkdir, open, readdir, readFile, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CollectorError } from "../errors.ts";
import { writeAll } from "../log/log-fs.ts";
import { syncDir } from "../state/json-file.ts";

/** Where a state's appendix is: the file (in the state's folder) and how much of it is the state's. */
export interface AppendixRef { file: string; bytes: number }

/** What a step changed of the part kept apart: `added` (null: start afresh) or the whole `table`. */
export interface AppendixChange {
  added: unknown[] | null;
  table: () => unknown[];
}

/** The write a step makes before its state file names `ref`. */
export interface AppendixWrite { ref: AppendixRef; bytes: Uint8Array; at: number; fresh: boolean }

/** A new generation once a file holds this many times its first line (and at least COMPACT_BYTES):
 *  a step writes its change plus, amortised, about a seventh of it again. */
const COMPACT_FACTOR = 8;
const COMPACT_BYTES = 1024 * 1024;

export class StateAppendix {
  readonly #dir: string;
  readonly #base: string;
  /** The generations on disk (file names) as far as known: found at open, and made since. */
  readonly #files = new Set<string>();
  #generation = 0;
  /** The ref of the last step planned (or of the committed state). */
  #tip: AppendixRef | undefined;
  /** Bytes of the tip file's first line (the whole part when it was started). */
  #firstLine = 0;

  private constructor(statePath: string) {
    this.#dir = dirname(statePath);
    this.#base = basename(statePath).replace(/\.json$/, "");
  }

  /** The appendix of the state at `statePath` whose ref is `ref`, and that state's part (its text). */
  static async open(statePath: string, ref: AppendixRef | undefined): Promise<{ appendix: StateAppendix; text: string | undefined }> {
    const appendix = new StateAppendix(statePath);
    let names: string[] = [];
    try {
      names = await readdir(appendix.#dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    for (const name of names) {
      const generation = appendix.#generationOf(name);
      if (generation === undefined) continue;
      appendix.#files.add(name);
      appendix.#generation = Math.max(appendix.#generation, generation);
    }
    if (ref === undefined) return { appendix, text: undefined };
    const { text, firstLine } = await appendix.read(ref, statePath);
    appendix.#tip = ref;
    appendix.#firstLine = firstLine;
    return { appendix, text };
  }

  /** The part a state whose appendix is `ref` keeps apart (its text), and the length of its first line. */
  async read(ref: AppendixRef, statePath: string): Promise<{ text: string; firstLine: number }> {
    const path = join(this.#dir, ref.file);
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") throw new CollectorError("bad_state", `${path}, named by ${statePath}, does not exist`);
      throw e;
    }
    if (this.#generationOf(ref.file) === undefined || bytes.length < ref.bytes || (ref.bytes > 0 && bytes[ref.bytes - 1] !== 0x0a)) {
      throw new CollectorError("bad_state", `${path} does not hold the ${ref.bytes} bytes ${statePath} names`);
    }
    const first = bytes.indexOf(0x0a);
    return { text: bytes.toString("utf8", 0, ref.bytes), firstLine: first < 0 || first >= ref.bytes ? ref.bytes : first + 1 };
  }

  /** The write that records `change` after the last step planned (none: nothing to write); the
   *  step's state names `tip()` after it. No change: that state keeps nothing apart. No I/O. */
  plan(change: AppendixChange | undefined): AppendixWrite | undefined {
    const tip = this.#tip;
    if (change === undefined) {
      this.#tip = undefined;
      return undefined;
    }
    let line = change.added === null || tip === undefined ? undefined : change.added;
    if (line !== undefined && line.length === 0) return undefined;
    let bytes = line === undefined ? undefined : Buffer.from(`${JSON.stringify(line)}\n`);
    if (bytes !== undefined && tip!.bytes + bytes.length > Math.max(COMPACT_BYTES, COMPACT_FACTOR * this.#firstLine)) bytes = undefined;
    if (bytes !== undefined) {
      const ref = { file: tip!.file, bytes: tip!.bytes + bytes.length };
      this.#tip = ref;
      return { ref, bytes, at: tip!.bytes, fresh: false };
    }
    line = change.table();
    bytes = Buffer.from(`${JSON.stringify(line)}\n`);
    const ref = { file: `${this.#base}.${++this.#generation}.jsonl`, bytes: bytes.length };
    this.#tip = ref;
    this.#firstLine = bytes.length;
    return { ref, bytes, at: 0, fresh: true };
  }

  /** The ref the last step planned leaves (undefined: none yet). */
  tip(): AppendixRef | undefined {
    return this.#tip;
  }

  /** After a failed step: the next plans follow `ref` (the committed state's) again. */
  rollback(ref: AppendixRef | undefined): void {
    this.#tip = ref;
    this.#firstLine = 0; // unknown: the next plan compacts once past COMPACT_BYTES
  }

  /** Makes a planned write durable (a new generation: its folder entry too). */
  async write(w: AppendixWrite): Promise<void> {
    const path = join(this.#dir, w.ref.file);
    if (w.fresh) {
      this.#files.add(w.ref.file);
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    }
    const handle = await open(path, w.fresh ? "w" : "r+", 0o600);
    try {
      await writeAll(handle, w.bytes, w.at);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (w.fresh) await syncDir(this.#dir);
  }

  /** Removes the generations no ref in `keep` names (those of a state file just written). */
  async prune(keep: Array<AppendixRef | undefined>): Promise<void> {
    for (const name of [...this.#files]) {
      if (keep.some((ref) => ref?.file === name)) continue;
      await unlink(join(this.#dir, name)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      this.#files.delete(name);
    }
  }

  #generationOf(name: string): number | undefined {
    if (!name.startsWith(`${this.#base}.`) || !name.endsWith(".jsonl")) return undefined;
    const middle = name.slice(this.#base.length + 1, -".jsonl".length);
    return /^[0-9]{1,15}$/.test(middle) ? Number(middle) : undefined;
  }
}
