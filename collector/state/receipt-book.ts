// Every receipt the site accepted, with the checkpoint it answered, one JSON line each
// (appended and fsync'd before the log cursor moves). `verify` re-checks them all; the log's
// cursor keeps only the latest.
import { open, readFile, type FileHandle } from "node:fs/promises";
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

/** All entries in order. A torn last line (crash mid-append) is ignored: the cursor never moved for it. */
export async function readReceipts(paths: StatePaths): Promise<ReceiptEntry[]> {
  let text: string;
  try {
    text = await readFile(paths.receipts, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  const lines = text.split("\n");
  const entries: ReceiptEntry[] = [];
  for (const [i, line] of lines.entries()) {
    if (line === "") continue;
    try {
      entries.push(JSON.parse(line) as ReceiptEntry);
    } catch {
      if (i === lines.length - 1) break; // torn tail: no newline was ever written after it
      throw new CollectorError("check_failed", `${paths.receipts} line ${i + 1} is not JSON`, { line: i + 1 });
    }
  }
  return entries;
}
