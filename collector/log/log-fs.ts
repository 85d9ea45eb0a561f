// The narrow file-system surface the log uses, so the crash-safety argument of FORMAT.md can be
// tested against a simulated disk that loses unsynced bytes (test/reliability/log). Production and
// the ordinary tests use `nodeLogFs`: node:fs/promises with real fsync.
//
// Two durability policies over the same file operations (FORMAT.md "Windows"):
// - POSIX: a directory is opened and fsynced, which makes the entries created, renamed or removed
//   in it durable.
// - Windows: a directory cannot be opened with `open(dir, "r")` (EISDIR/EPERM: Node cannot ask for
//   FILE_FLAG_BACKUP_SEMANTICS, which FlushFileBuffers on a directory needs). NTFS journals its
//   metadata, so a create or rename is durable once the file's own data is flushed (fsync of a
//   file is FlushFileBuffers there); the directory step is skipped, never attempted.
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
  /** Makes the entries created, renamed or removed in `dir` durable (a no-op where the platform
   *  makes them durable with the files themselves: Windows). */
  fsyncDir(dir: string): Promise<void>;
}

/** The file operations a LogFs is built from; tests substitute a layer that behaves like Windows. */
export type FileOps = Omit<LogFs, "fsyncDir">;

export const nodeFileOps: FileOps = {
  mkdirp: (dir) => mkdir(dir, { recursive: true }),
  open: (path, mode, permissions) => open(path, mode, permissions),
  readFile: (path) => readFile(path),
  rename: (from, to) => rename(from, to),
  link: (existing, newPath) => link(existing, newPath),
  unlink: (path) => rm(path),
  readdir: (dir) => readdir(dir),
};

/** POSIX: fsync a directory by opening it read-only. */
export function posixLogFs(ops: FileOps = nodeFileOps): LogFs {
  return {
    ...ops,
    async fsyncDir(dir) {
      const handle = await ops.open(dir, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
  };
}

/** Windows: never opens a directory (see the header); files are flushed as everywhere. */
export function windowsLogFs(ops: FileOps = nodeFileOps): LogFs {
  return { ...ops, fsyncDir: async () => undefined };
}

export const nodeLogFs: LogFs = process.platform === "win32" ? windowsLogFs() : posixLogFs();

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

/** Writes all of `buffer` at `position` (a write may take fewer bytes than asked). */
export async function writeAll(handle: Pick<LogFile, "write">, buffer: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, written, buffer.length - written, position + written);
    written += bytesWritten;
  }
}

