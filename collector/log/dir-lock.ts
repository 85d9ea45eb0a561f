// One owner per log directory: a `LOCK` file that holds the owner's pid, created atomically
// (written under a private name, then link()ed, which fails if LOCK exists — so LOCK is never
// seen half-written). A lock whose pid is no longer alive (owner killed) is stale and taken over.
import { join } from "node:path";
import { LogError } from "./errors.ts";
import { removeIfPresent, writeAll, type LogFs } from "./log-fs.ts";

export const LOCK_FILE = "LOCK";

export interface DirLock {
  /** Pid of a dead owner whose lock was taken over, if any. */
  staleOwner: number | null;
  release(): Promise<void>;
}

/** Directories this process holds, per file system. A LOCK holding our own pid that is not in
 *  here was left by an earlier process that had the same pid — after a power cut and reboot the
 *  service often gets the same pid again — so it is stale, not live. */
const heldByThisProcess = new WeakMap<LogFs, Set<string>>();

export async function lockDirectory(fs: LogFs, dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  const mine = join(dir, `${LOCK_FILE}.${process.pid}`);
  const held = heldByThisProcess.get(fs) ?? new Set<string>();
  heldByThisProcess.set(fs, held);
  let staleOwner: number | null = null;
  let linked = false;
  try {
    await writeDraft(fs, mine);
    for (let attempt = 0; attempt < 2 && !linked; attempt++) {
      try {
        await fs.link(mine, path);
        linked = true;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      const text = await fs.readFile(path).then((b) => new TextDecoder().decode(b), () => "");
      const owner = Number.parseInt(text, 10);
      if (!Number.isSafeInteger(owner) || owner < 1) {
        throw new LogError("log_locked", `${dir}/${LOCK_FILE} exists but holds no pid (${JSON.stringify(text)}); remove it by hand`);
      }
      const live = owner === process.pid ? held.has(dir) : isAlive(owner);
      if (live) throw new LogError("log_locked", `${dir} is locked by live process ${owner}`);
      staleOwner = owner;
      // Residual race, accepted: two processes breaking the same stale lock at the same moment
      // can both succeed. The collector is one daemon per state dir, started by a service manager.
      await removeIfPresent(fs, path);
    }
    if (!linked) throw new LogError("log_locked", `${dir}: another process took the lock while a stale one was removed`);
    await removeIfPresent(fs, mine);
    await removeDeadOwnersDrafts(fs, dir);
  } catch (e) {
    // A lock taken but not finished (an I/O error after the link) is given back: left in place
    // it would hold this very process out of its log until a restart.
    if (linked) await removeIfPresent(fs, path).catch(() => undefined);
    await removeIfPresent(fs, mine).catch(() => undefined);
    throw e;
  }
  held.add(dir);
  return {
    staleOwner,
    release: async () => {
      held.delete(dir);
      await removeIfPresent(fs, path);
    },
  };
}

/** The draft is fsynced before it is linked: after a power cut, a LOCK whose data never reached
 *  the disk reads as zeros or nothing, and would need a human to remove it. A draft left by a
 *  killed process with our pid (the next boot often reuses it) may already be linked as LOCK:
 *  it is removed and a new file made, never truncated — truncating it would empty LOCK too. */
async function writeDraft(fs: LogFs, path: string): Promise<void> {
  const pid = new TextEncoder().encode(`${process.pid}\n`);
  await removeIfPresent(fs, path);
  const handle = await fs.open(path, "wx+", 0o600);
  try {
    await writeAll(handle, pid, 0);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** A process killed between writing its `LOCK.<pid>` draft and linking it leaves the draft behind. */
async function removeDeadOwnersDrafts(fs: LogFs, dir: string): Promise<void> {
  for (const name of await fs.readdir(dir)) {
    const pid = /^LOCK\.(\d+)$/.exec(name)?.[1];
    if (pid !== undefined && Number(pid) !== process.pid && !isAlive(Number(pid))) await removeIfPresent(fs, join(dir, name));
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
