// Every receipt the site accepted, with the checkpoint it answered, one JSON line each
// (appended and fsync'd before the log cursor moves). `verify` re-checks them all; the log's
// cursor keeps only the latest.
import { open, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import type { Checkpoint, Receipt } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { writeAll } from "../log/log-fs.ts";
import { syncDir } from "./json-file.ts";
import type { StatePaths } from "./state-dir.ts";

export interface ReceiptEntry {
  /** The checkpoint we signed for the batch this receipt answered (absent for a replay of none). */
  checkpoint?: Checkpoint;
  checkpoint_signature?: string;
  receipt: Receipt;
  signature: string;
}

export async function appendReceipt(paths: StatePaths, entry: ReceiptEntry): Promise<void> {
  const { handle, created } = await openBook(paths.receipts);
  try {
    // A last line without its newline is an append a crash or a full disk cut short: its fsync never
    // returned, so the cursor never moved for it. Appended after, it would merge with this entry
    // into one line that is not JSON, and `verify` would refuse the book from then on.
    const size = (await handle.stat()).size;
    const whole = await endOfLastLine(handle, size);
    if (whole < size) await handle.truncate(whole);
    // Written at an explicit position, not in append mode: Windows opens an append-mode file
    // without the write access a truncate needs.
    await writeAll(handle, Buffer.from(JSON.stringify(entry) + "\n", "utf8"), whole);
    await handle.sync();
  } finally {
    await handle.close();
  }
  // The book's first append creates the file: its directory entry must be as durable as the
  // cursor this receipt is about to move, or a power cut could leave a cursor no receipt backs.
  if (created) await syncDir(dirname(paths.receipts));
}

async function openBook(path: string): Promise<{ handle: FileHandle; created: boolean }> {
  try {
    return { handle: await open(path, "r+"), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  return { handle: await open(path, "wx+", 0o644), created: true };
}

/** The offset just past the last newline among the first `size` bytes (0 when there is none). */
async function endOfLastLine(handle: FileHandle, size: number): Promise<number> {
  const chunk = Buffer.alloc(4096);
  for (let end = size; end > 0;) {
    const start = Math.max(0, end - chunk.length);
    const { bytesRead } = await handle.read(chunk, 0, end - start, start);
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
    if (at >= 0) return start + at + 1;
    end = start;
  }
  return 0;
}

const CHUNK_BYTES = 1024 * 1024;

/** Every entry in order, read a chunk at a time: the book gains a line per batch receipted — a
 *  daemon that syncs every minute writes about 360 MB a year — so it is never held whole. A torn
 *  last line (crash mid-append) is ignored: the cursor never moved for it. */
export async function* receiptEntries(paths: StatePaths): AsyncGenerator<ReceiptEntry> {
  let handle: FileHandle;
  try {
    handle = await open(paths.receipts, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  try {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let rest = Buffer.alloc(0);
    let line = 0;
    const parse = (bytes: Buffer): ReceiptEntry | undefined => {
      line++;
      if (bytes.length === 0) return undefined;
      try {
        return JSON.parse(bytes.toString("utf8")) as ReceiptEntry;
      } catch {
        throw new CollectorError("check_failed", `${paths.receipts} line ${line} is not JSON`, { line });
      }
    };
    for (let position = 0; ;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const bytes = rest.length > 0 ? Buffer.concat([rest, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let from = 0;
      for (let at = bytes.indexOf(0x0a); at >= 0; at = bytes.indexOf(0x0a, from)) {
        const entry = parse(bytes.subarray(from, at));
        if (entry !== undefined) yield entry;
        from = at + 1;
      }
      rest = Buffer.from(bytes.subarray(from)); // a copy: `chunk` is read into again
    }
    // The last line without its newline: an append a crash cut short, unless it is whole JSON.
    try {
      const entry = parse(rest);
      if (entry !== undefined) yield entry;
    } catch (e) {
      if (!(e instanceof CollectorError)) throw e;
    }
  } finally {
    await handle.close();
  }
}
