// The receipt cursor: the highest seq the edge has receipted and that receipt, in one JSON
// file replaced atomically (write tmp, fsync, rename, fsync dir), so a crash leaves either
// the old cursor or the new one, never a mix.
import { join } from "node:path";
import { LogError, corrupt } from "./errors.ts";
import { removeIfPresent, writeAll, type LogFs } from "./log-fs.ts";

export const CURSOR_FILE = "cursor.json";
const CURSOR_TMP = "cursor.json.tmp";
const CURSOR_FORMAT = "tally-log-cursor/v1";

export interface Cursor {
  ackedSeq: number;
  receipt: unknown;
}

/** The persisted cursor, or acked 0 when none was ever written. Also removes a tmp file left by
 *  a crash mid-write (its rename never happened, so it never counted); says whether it did. */
export async function loadCursor(fs: LogFs, dir: string): Promise<{ cursor: Cursor; removedTmp: boolean }> {
  const removedTmp = await removeIfPresent(fs, join(dir, CURSOR_TMP));
  let text: string;
  try {
    text = new TextDecoder().decode(await fs.readFile(join(dir, CURSOR_FILE)));
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

/** The persisted cursor, read without taking the log (for `status` while the daemon holds it):
 *  never writes; null when absent or unreadable (a replacement in flight is retried once). */
export async function peekCursor(fs: LogFs, dir: string): Promise<Cursor | null> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const parsed = JSON.parse(new TextDecoder().decode(await fs.readFile(join(dir, CURSOR_FILE)))) as { format?: unknown; acked_seq?: unknown; receipt?: unknown };
      if (parsed.format === CURSOR_FORMAT && Number.isSafeInteger(parsed.acked_seq)) return { ackedSeq: parsed.acked_seq as number, receipt: parsed.receipt ?? null };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    }
  }
  return null;
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

export async function saveCursor(fs: LogFs, dir: string, text: string): Promise<void> {
  const tmp = join(dir, CURSOR_TMP);
  const bytes = new TextEncoder().encode(text);
  const handle = await fs.open(tmp, "w", 0o600);
  try {
    await writeAll(handle, bytes, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, join(dir, CURSOR_FILE));
  await fs.fsyncDir(dir);
}
