// The receipt cursor: the highest seq the edge has receipted and that receipt, in one JSON
// file replaced atomically (write tmp, fsync, rename, fsync dir), so a crash leaves either
// the old cursor or the new one, never a mix.
import { open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { LogError, corrupt } from "./errors.ts";
import { syncDirectory } from "./segment-files.ts";

export const CURSOR_FILE = "cursor.json";
const CURSOR_TMP = "cursor.json.tmp";
const CURSOR_FORMAT = "tally-log-cursor/v1";

export interface Cursor {
  ackedSeq: number;
  receipt: unknown;
}

/** The persisted cursor, or acked 0 when none was ever written. Also removes a tmp file left by
 *  a crash mid-write (its rename never happened, so it never counted); says whether it did. */
export async function loadCursor(dir: string): Promise<{ cursor: Cursor; removedTmp: boolean }> {
  const removedTmp = await rm(join(dir, CURSOR_TMP)).then(() => true, (e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return false;
    throw e;
  });
  let text: string;
  try {
    text = await readFile(join(dir, CURSOR_FILE), "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { cursor: { ackedSeq: 0, receipt: null }, removedTmp };
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt(CURSOR_FILE, 0, "cursor is not JSON");
  }
  const fields = parsed as { format?: unknown; acked_seq?: unknown; receipt?: unknown } | null;
  if (fields?.format !== CURSOR_FORMAT || !Number.isSafeInteger(fields.acked_seq) || (fields.acked_seq as number) < 0) {
    throw corrupt(CURSOR_FILE, 0, `cursor is not a ${CURSOR_FORMAT} object with a whole acked_seq ≥ 0`);
  }
  return { cursor: { ackedSeq: fields.acked_seq as number, receipt: fields.receipt ?? null }, removedTmp };
}

export function encodeCursor(cursor: Cursor): string {
  let text: string | undefined;
  try {
    text = JSON.stringify({ format: CURSOR_FORMAT, acked_seq: cursor.ackedSeq, receipt: cursor.receipt ?? null });
  } catch (e) {
    throw new LogError("invalid_argument", `receipt is not JSON-serialisable: ${(e as Error).message}`);
  }
  return text + "\n";
}

export async function saveCursor(dir: string, text: string): Promise<void> {
  const tmp = join(dir, CURSOR_TMP);
  const handle = await open(tmp, "w", 0o600);
  try {
    await handle.writeFile(text, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, join(dir, CURSOR_FILE));
  await syncDirectory(dir);
}
