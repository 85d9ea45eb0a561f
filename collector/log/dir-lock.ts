// One owner per log directory: a `LOCK` file that holds the owner's pid, created atomically
// (written under a private name, then link()ed, which fails if LOCK exists — so LOCK is never
// seen half-written). A lock whose pid is no longer alive (owner killed) is stale and taken over.
import { link, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LogError } from "./errors.ts";

export const LOCK_FILE = "LOCK";

export interface DirLock {
  /** Pid of a dead owner whose lock was taken over, if any. */
  staleOwner: number | null;
  release(): Promise<void>;
}

export async function lockDirectory(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  const mine = join(dir, `${LOCK_FILE}.${process.pid}`);
  await writeFile(mine, `${process.pid}\n`, { mode: 0o600 });
  let staleOwner: number | null = null;
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(mine, path);
        await removeDeadOwnersDrafts(dir);
        return { staleOwner, release: () => rm(path, { force: true }) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const text = await readFile(path, "utf8").catch(() => "");
      const owner = Number.parseInt(text, 10);
      if (!Number.isSafeInteger(owner) || owner < 1) {
        throw new LogError("log_locked", `${dir}/${LOCK_FILE} exists but holds no pid (${JSON.stringify(text)}); remove it by hand`);
      }
      if (owner === process.pid || isAlive(owner)) throw new LogError("log_locked", `${dir} is locked by live process ${owner}`);
      staleOwner = owner;
      // Residual race, accepted: two processes breaking the same stale lock at the same moment
      // can both succeed. The collector is one daemon per state dir, started by a service manager.
      await rm(path, { force: true });
    }
  } finally {
    await rm(mine, { force: true });
  }
  throw new LogError("log_locked", `${dir}: another process took the lock while a stale one was removed`);
}

/** A process killed between writing its `LOCK.<pid>` draft and linking it leaves the draft behind. */
async function removeDeadOwnersDrafts(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const pid = /^LOCK\.(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) await rm(join(dir, name), { force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
