// The receipt book (receipts.jsonl) on real files: a torn last line — a crash or a full disk in the
// middle of an append, whose cursor never moved — never turns the book into one `verify` refuses
// once the next receipt is appended after it.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { appendReceipt, receiptEntries, type ReceiptEntry } from "../../../collector/state/receipt-book.ts";
import { statePaths, type StatePaths } from "../../../collector/state/state-dir.ts";

const entry = (acked: number): ReceiptEntry => ({
  receipt: { collector_id: "col_book", acked_seq: acked, head: acked.toString(16).padStart(64, "0"), received_at: 1_764_280_000_000 + acked, key_id: "edk_0123456789abcdef" },
  signature: "ab".repeat(64),
});

async function readReceipts(paths: StatePaths): Promise<ReceiptEntry[]> {
  const out: ReceiptEntry[] = [];
  for await (const e of receiptEntries(paths)) out.push(e);
  return out;
}

let dir: string;
let paths: StatePaths;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-receipt-book-"));
  paths = statePaths(dir);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the receipt book", () => {
  it("keeps every entry in order, one JSON line each", async () => {
    await appendReceipt(paths, entry(10));
    await appendReceipt(paths, entry(20));
    expect(await readReceipts(paths)).toEqual([entry(10), entry(20)]);
  });

  it.each([
    ["half a line (the append was cut short)", (line: string) => line.slice(0, 57)],
    ["zeros (the size grew, the data never came)", (line: string) => "\0".repeat(line.length)],
    ["a whole line but its newline", (line: string) => line],
  ])("an append after a torn last line of %s drops it: the entries before and after it read back", async (_what, torn) => {
    await appendReceipt(paths, entry(10));
    const good = await readFile(paths.receipts, "utf8");
    await writeFile(paths.receipts, good + torn(JSON.stringify(entry(20))));
    await appendReceipt(paths, entry(20));
    expect(await readReceipts(paths)).toEqual([entry(10), entry(20)]);
    expect(await readFile(paths.receipts, "utf8")).toBe(good + JSON.stringify(entry(20)) + "\n");
  });

  it("a book whose only line is torn starts again from its first entry", async () => {
    await writeFile(paths.receipts, JSON.stringify(entry(5)).slice(0, 30));
    await appendReceipt(paths, entry(5));
    expect(await readReceipts(paths)).toEqual([entry(5)]);
  });

  it("reads a book larger than its chunk whole, lines cut at the chunk's edges included", async () => {
    const entries = Array.from({ length: 3000 }, (_, i) => entry(i + 1)); // ≈ 1.1 MB, over the 1 MiB chunk
    await writeFile(paths.receipts, entries.map((e) => JSON.stringify(e) + "\n").join(""));
    expect(await readReceipts(paths)).toEqual(entries);
  });

  it("a line that is not JSON before the last one is damage (check_failed, its line number)", async () => {
    await writeFile(paths.receipts, `${JSON.stringify(entry(1))}\n{"receipt":\n${JSON.stringify(entry(2))}\n`);
    await expect(readReceipts(paths)).rejects.toMatchObject({ code: "check_failed", details: { line: 2 } });
  });
});
