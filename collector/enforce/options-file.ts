// Reading and replacing a license manager's options file, and asking the manager to reread it.
// The file is replaced atomically: the new bytes go to a temp file beside it (same directory, so
// the same file system), are fsynced, keep the file's mode, and are renamed over it; then the
// directory is fsynced (POSIX). A crash leaves the old file or the new one, never half of one.
// The reread command is an argv array run without a shell, with a timeout.
import { execFile } from "node:child_process";
import { chmod, open, readFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { nodeLogFs, writeAll } from "../log/log-fs.ts";

export async function readOptionsFile(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}

export async function replaceOptionsFile(path: string, bytes: Uint8Array): Promise<void> {
  const mode = (await stat(path)).mode & 0o7777;
  const tmp = join(dirname(path), `.${basename(path)}.tally-${process.pid}.tmp`);
  const file = await open(tmp, "w", mode);
  try {
    await writeAll(file, bytes, 0);
    await file.sync();
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await file.close();
  await chmod(tmp, mode).catch(() => undefined); // open's mode is masked by the umask
  await rename(tmp, path);
  await nodeLogFs.fsyncDir(dirname(path));
}

export interface RereadResult { ok: boolean; message: string }

/** Runs `argv` (no shell). Never throws: a failure is a result the caller reports and retries. */
export function runReread(argv: readonly string[], timeoutMs: number): Promise<RereadResult> {
  const [path, ...args] = argv as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(path, args, { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 1024 * 1024, windowsHide: true },
      (err, stdout, stderr) => {
        if (!err) return resolve({ ok: true, message: firstLine(stdout) || `${path} exited 0` });
        const e = err as Error & { code?: unknown; killed?: boolean; signal?: unknown };
        if (e.killed || e.signal === "SIGKILL") return resolve({ ok: false, message: `${path} timed out after ${timeoutMs / 1000} s` });
        if (typeof e.code === "string") return resolve({ ok: false, message: `${path} could not run (${e.code})` });
        const detail = firstLine(stderr) || firstLine(stdout);
        resolve({ ok: false, message: `${path} exited with status ${String(e.code)}${detail ? `: ${detail}` : ""}` });
      });
  });
}

function firstLine(text: string): string {
  return (text.trim().split(/\r?\n/)[0] ?? "").slice(0, 300);
}
