// One process at a time on a data dir: a lock file (DIR/core.lock) created with O_EXCL, holding
// the owner's pid, the kernel's start time of that process, its role and (for a serving core) its
// control socket. A lock whose pid is gone — or was reused by another process, which the start
// time tells apart — is stale: a core that crashed (kill -9, power loss) never blocks the next,
// and the workerd it left running, if any, is stopped first (stopOrphanRuntime).
import { closeSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

export type LockRole = "core" | "backup" | "restore" | "build";

export interface LockOwner {
  pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot); absent where /proc is not available. */
  proc_start?: string;
  host: string;
  role: LockRole;
  started_at: string;
  /** Control socket of a serving core (control.ts). */
  socket?: string;
  url?: string;
  /** The serving core's workerd (and its /proc start time): a core killed by SIGKILL leaves it
   * running, reparented to init, with every database of the data dir open. */
  runtime_pid?: number;
  runtime_proc_start?: string;
}

export class LockHeldError extends Error {
  readonly owner: LockOwner;
  constructor(path: string, owner: LockOwner) {
    super(`${path} is held by ${owner.role} pid ${owner.pid} on ${owner.host} since ${owner.started_at}`);
    this.owner = owner;
  }
}

export interface HeldLock {
  owner: LockOwner;
  /** Rewrites the owner (e.g. to add the socket once it listens). */
  update(patch: Partial<LockOwner>): void;
  release(): void;
}

export function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22, counted after the command name, which is in parentheses and may contain spaces.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `owner` is still running (and is the same process). */
export function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // a shared filesystem: we cannot tell, assume so
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const start = procStart(owner.pid);
  return owner.proc_start === undefined || start === undefined || start === owner.proc_start;
}

export function readLock(path: string): LockOwner | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as LockOwner;
  } catch {
    // Torn by a crash between create and write: nobody can own it.
    return { pid: -1, host: hostname(), role: "core", started_at: "unknown" };
  }
}

export function acquireLock(path: string, role: LockRole, extra: Partial<LockOwner> = {}): HeldLock {
  const owner: LockOwner = {
    pid: process.pid, ...(procStart(process.pid) ? { proc_start: procStart(process.pid)! } : {}),
    host: hostname(), role, started_at: new Date().toISOString(), ...extra,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, JSON.stringify(owner) + "\n");
      } finally {
        closeSync(fd);
      }
      return held(path, owner);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const current = readLock(path);
    if (current === undefined) continue; // released meanwhile
    if (current.pid > 0 && ownerAlive(current)) throw new LockHeldError(path, current);
    stopOrphanRuntime(current);
    removeStale(path, current);
  }
  throw new Error(`${path}: could not take the lock (another process keeps replacing it)`);
}

/** This process's workerd child (miniflare spawns exactly one), for the lock. Linux: /proc. */
export function childRuntime(parent = process.pid): { runtime_pid: number; runtime_proc_start: string } | undefined {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const start = procStart(Number(pid));
    if (ppid === parent && comm === "workerd" && start !== undefined) return { runtime_pid: Number(pid), runtime_proc_start: start };
  }
  return undefined;
}

/** A stale core lock's workerd still running (its core died by SIGKILL, and nothing killed its
 * child): it would serve alarms on the very databases the next core opens, so it is killed first —
 * only when its pid still names the process the lock recorded (same /proc start time). */
function stopOrphanRuntime(stale: LockOwner): void {
  const pid = stale.runtime_pid;
  if (pid === undefined || stale.runtime_proc_start === undefined || stale.host !== hostname()) return;
  if (procStart(pid) !== stale.runtime_proc_start) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return; // already gone
  }
  // Until it is dead: gone, or a zombie (its files are closed then) its new parent has yet to reap.
  const dead = (): boolean => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      return procStart(pid) !== stale.runtime_proc_start || /\) Z /.test(stat);
    } catch {
      return true; // reaped meanwhile
    }
  };
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 5000 && !dead(); waited += 20) Atomics.wait(pause, 0, 0, 20);
}

/** Moves a stale lock aside atomically, so two starters cleaning the same stale lock cannot remove
 * a fresh one the other just created. */
function removeStale(path: string, stale: LockOwner): void {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const moved = readLock(aside);
  if (moved && (moved.pid !== stale.pid || moved.started_at !== stale.started_at)) {
    // We moved a live lock someone created after our read: put it back (fails if a third took the path).
    try {
      linkSync(aside, path);
    } catch { /* the next attempt reads whoever holds it now */ }
  }
  unlinkSync(aside);
}

function held(path: string, owner: LockOwner): HeldLock {
  let released = false;
  return {
    owner,
    update(patch) {
      Object.assign(owner, patch);
      // Rewrite through a temp file and rename: a reader never sees a torn lock.
      const tmp = `${path}.${process.pid}.tmp`;
      const fd = openSync(tmp, "w", 0o600);
      try {
        writeSync(fd, JSON.stringify(owner) + "\n");
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
    release() {
      if (released) return;
      released = true;
      const current = readLock(path);
      if (current?.pid === process.pid && current.started_at === owner.started_at) unlinkSync(path);
    },
  };
}
