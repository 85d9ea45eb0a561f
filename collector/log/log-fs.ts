// The narrow file-system surface the log uses, so the crash-safety argument of FORMAT.md can be
// tested against a simulated disk that loses unsynced bytes (test/reliability/log). Production and
// the ordinary tests use `nodeLogFs`: node:fs/promises with real fsync, unchanged behaviour.
import { link, mkdir, open, readFile, readdir, rename, rm } from "node:fs/promises";

/** An open file. Positions are explicit: the log never relies on a file offset. */
export interface LogFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  readFile(): Promise<Uint8Array>;
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

/** `r` read, `r+` read/write an existing file, `wx+` create a new file (EEXIST if present),
 *  `w` create or empty. */
export type OpenMode = "r" | "r+" | "wx+" | "w";

/** Errors are node-style: an Error with `code` (ENOENT, EEXIST, ENOSPC, EIO …). */
export interface LogFs {
  /** mkdir -p; returns the first directory it created, or undefined when all existed. */
  mkdirp(dir: string): Promise<string | undefined>;
  open(path: string, mode: OpenMode, permissions?: number): Promise<LogFile>;
  readFile(path: string): Promise<Uint8Array>;
  rename(from: string, to: string): Promise<void>;
  link(existing: string, newPath: string): Promise<void>;
  /** Removes a file; ENOENT when it is missing. */
  unlink(path: string): Promise<void>;
  readdir(dir: string): Promise<string[]>;
  /** fsync of the directory itself: makes the entries created, renamed or removed in it durable. */
  fsyncDir(dir: string): Promise<void>;
}

export const nodeLogFs: LogFs = {
  mkdirp: (dir) => mkdir(dir, { recursive: true }),
  open: (path, mode, permissions) => open(path, mode, permissions),
  readFile: (path) => readFile(path),
  rename: (from, to) => rename(from, to),
  link: (existing, newPath) => link(existing, newPath),
  unlink: (path) => rm(path),
  readdir: (dir) => readdir(dir),
  async fsyncDir(dir) {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

/** unlink that treats a missing file as done. */
export async function removeIfPresent(fs: LogFs, path: string): Promise<boolean> {
  try {
    await fs.unlink(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw e;
  }
}
