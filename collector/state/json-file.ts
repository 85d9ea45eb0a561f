// Small JSON files of the state dir, replaced atomically (tmp, fsync, rename, fsync dir), so a
// crash leaves the old content or the new, never half a file. The directory fsync follows the
// log's platform policy (log/log-fs.ts: none on Windows, which refuses to open a directory).
import { open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { CollectorError } from "../errors.ts";
import { nodeLogFs, writeAll } from "../log/log-fs.ts";

export async function readJsonFile<T>(path: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CollectorError("bad_state", `${path} is not JSON`);
  }
}

export function writeJsonFile(path: string, value: unknown, mode = 0o644, opts: { compact?: boolean } = {}): Promise<void> {
  return replaceFile(path, opts.compact ? JSON.stringify(value) : JSON.stringify(value, null, 2) + "\n", mode);
}

/** Replaces the file's content with `content` (text as UTF-8) atomically, as writeJsonFile. */
export async function replaceFile(path: string, content: string | Uint8Array, mode = 0o644): Promise<void> {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  // A per-process temp name: two processes replacing the same file never share a temp file.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const handle = await open(tmp, "w", mode);
  try {
    // One write for the whole content (FileHandle.writeFile takes 512 KiB per call).
    await writeAll(handle, bytes, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw e;
  }
  await syncDir(dirname(path));
}

export function syncDir(dir: string): Promise<void> {
  return nodeLogFs.fsyncDir(dir);
}
