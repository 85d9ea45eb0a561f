// Every receipt the site accepted, with the checkpoint it answered, one JSON line each
// (appended and fsync'd before the log cursor moves). `verify` re-checks them all; the log's
// cursor keeps only the latest.
import { open, readFile } from "node:fs/promises";
import type { Checkpoint, Receipt } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import type { StatePaths } from "./state-dir.ts";

export interface ReceiptEntry {
  /** The checkpoint we signed for the batch this receipt answered (absent for a replay of none). */
  checkpoint?: Checkpoint;
  checkpoint_signature?: string;
  receipt: Receipt;
  signature: string;
}

export async function appendReceipt(paths: StatePaths, entry: ReceiptEntry): Promise<void> {
  const handle = await open(paths.receipts, "a", 0o644);
  try {
    await handle.writeFile(JSON.stringify(entry) + "\n", "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
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
