// One process at a time on a data dir: a lock file (DIR/core.lock) created with O_EXCL, holding
// the owner's pid, the kernel's start time of that process, its role and (for a serving core) its
// control socket. A lock whose pid is gone — or was reused by another process, which the start
// time tells apart — is stale: a core that crashed (kill -9, power loss) never blocks the next,
// and the workerd it left running, if any, is stopped first (stopOrphanRuntime). A lock written on
// another host (a shared filesystem, or a container recreated under a new hostname) cannot be
// checked that way: its holder refreshes the file's mtime (the heartbeat), and it is stale once
// that refresh is older than STALE_AFTER_MS.
import { closeSync, fstatSync, futimesSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
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
  /** How often the holder refreshes the file's mtime. Absent in a lock written before heartbeats:
   * such a lock from another host is never stale (nothing says its holder is gone). */
  heartbeat_ms?: number;
}

/** Every 10 s a holder touches its lock; a lock from another host untouched for 2 min is stale:
 * twelve missed beats, room for a minute of clock skew between hosts (the mtime is the holder's
 * clock, its age the reader's) and for an event loop blocked by synchronous work. */
export const HEARTBEAT_MS = 10_000;
export const STALE_AFTER_MS = 120_000;

export interface LockTiming {
  heartbeatMs?: number;
  staleAfterMs?: number;
}

export interface LockOptions extends LockTiming {
  /** A heartbeat that failed; `lost` when the lock is gone or someone else's now (the heartbeat
   * stops then, and never recreates it). Default: a process warning. */
  onHeartbeatFailure?: (message: string, lost: boolean) => void;
}

/** A lock as read: its owner and its mtime, the holder's last heartbeat. */
export interface LockFile {
  owner: LockOwner;
  mtimeMs: number;
}

export class LockHeldError extends Error {
  readonly owner: LockOwner;
  constructor(path: string, lock: LockFile, timing: LockTiming = {}) {
    const { owner } = lock;
    const beat = heartbeatOf(lock, timing);
    const foreign = owner.host === hostname() ? ""
      : beat === undefined ? ` (written on another host without a heartbeat: if no core runs there, delete ${path})`
      : ` (another host; its heartbeat is ${seconds(beat.ageMs)} old, it is stale once ${seconds(beat.staleAfterMs)} old, at ${new Date(lock.mtimeMs + beat.staleAfterMs).toISOString()})`;
    super(`${path} is held by ${owner.role} pid ${owner.pid} on ${owner.host} since ${owner.started_at}${foreign}`);
    this.owner = owner;
  }
}

function seconds(ms: number): string {
  return `${Math.max(0, Math.round(ms / 1000))} s`;
}

/** A foreign lock's heartbeat age and the age at which it is stale; undefined without heartbeat. */
export function heartbeatOf(lock: LockFile, timing: LockTiming = {}, now = Date.now()): { ageMs: number; staleAfterMs: number } | undefined {
  const every = lock.owner.heartbeat_ms;
  if (typeof every !== "number") return undefined;
  // Never fewer than five beats, whatever the reader's setting: a holder beating slowly stays alive.
  return { ageMs: now - lock.mtimeMs, staleAfterMs: Math.max(timing.staleAfterMs ?? STALE_AFTER_MS, 5 * every) };
}

export interface HeldLock {
  owner: LockOwner;
  /** Rewrites the owner (e.g. to add the socket once it listens). */
  update(patch: Partial<LockOwner>): void;
  /** Stops the heartbeat and removes the lock if it is still this holder's. */
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

/** Whether the process that wrote the lock is still running (and is the same process); on
 * another host, whether its heartbeat is recent. */
export function ownerAlive(lock: LockFile, timing: LockTiming = {}): boolean {
  const { owner } = lock;
  if (owner.host !== hostname()) {
    const beat = heartbeatOf(lock, timing);
    return beat === undefined || beat.ageMs <= beat.staleAfterMs;
  }
  try {
    process.kill(owner.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const start = procStart(owner.pid);
  return owner.proc_start === undefined || start === undefined || start === owner.proc_start;
}

export function readLock(path: string): LockOwner | undefined {
  return readLockFile(path)?.owner;
}

/** The owner and mtime of one and the same file (read through one descriptor). */
export function readLockFile(path: string): LockFile | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return { mtimeMs: fstatSync(fd).mtimeMs, owner: parseOwner(readFileSync(fd, "utf8")) };
  } finally {
    closeSync(fd);
  }
}

function parseOwner(text: string): LockOwner {
  try {
    return JSON.parse(text) as LockOwner;
  } catch {
    // Torn by a crash between create and write: nobody can own it.
    return { pid: -1, host: hostname(), role: "core", started_at: "unknown" };
  }
}

export function acquireLock(path: string, role: LockRole, extra: Partial<LockOwner> = {}, options: LockOptions = {}): HeldLock {
  const owner: LockOwner = {
    pid: process.pid, ...(procStart(process.pid) ? { proc_start: procStart(process.pid)! } : {}),
    host: hostname(), role, started_at: new Date().toISOString(), heartbeat_ms: options.heartbeatMs ?? HEARTBEAT_MS, ...extra,
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      try {
        writeSync(fd, JSON.stringify(owner) + "\n");
      } finally {
        closeSync(fd);
      }
      return held(path, owner, options);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const current = readLockFile(path);
    if (current === undefined) continue; // released meanwhile
    if (current.owner.pid > 0 && ownerAlive(current, options)) throw new LockHeldError(path, current, options);
    stopOrphanRuntime(current.owner);
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
 * a fresh one the other just created — nor one whose holder on another host beat since it was
 * read (rename keeps the mtime). */
function removeStale(path: string, stale: LockFile): void {
  const aside = `${path}.stale.${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  const moved = readLockFile(aside);
  if (moved && (!sameOwner(moved.owner, stale.owner) || (stale.owner.host !== hostname() && moved.mtimeMs !== stale.mtimeMs))) {
    // We moved a live lock someone created after our read: put it back (fails if a third took the path).
    try {
      linkSync(aside, path);
    } catch { /* the next attempt reads whoever holds it now */ }
  }
  unlinkSync(aside);
}

function sameOwner(a: LockOwner, b: LockOwner): boolean {
  return a.pid === b.pid && a.host === b.host && a.started_at === b.started_at;
}

function held(path: string, owner: LockOwner, options: LockOptions): HeldLock {
  let released = false;
  const report = options.onHeartbeatFailure ?? ((message: string) => process.emitWarning(message, "LockHeartbeat"));
  const heartbeat = setInterval(() => {
    const failure = touch(path, owner);
    if (failure === undefined) return;
    if (failure.lost) clearInterval(heartbeat);
    report(failure.message, failure.lost);
  }, owner.heartbeat_ms);
  heartbeat.unref(); // a holder's own work decides when it exits, never its lock
  return {
    owner,
    update(patch) {
      // Never over another's lock: one taken over meanwhile (this host suspended past the stale
      // threshold) stays theirs, and this holder learns it lost the dir.
      const current = readLock(path);
      if (current === undefined || !sameOwner(current, owner)) throw new Error(lostMessage(path, current));
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
      clearInterval(heartbeat);
      const current = readLock(path);
      if (current !== undefined && sameOwner(current, owner)) unlinkSync(path);
    },
  };
}

/** One heartbeat: the lock's mtime set to now — through a descriptor of the very file whose owner
 * was checked, so a lock replaced meanwhile is never touched. A lock gone or someone else's is
 * lost (never recreated); any other error is left for the next beat to retry. */
function touch(path: string, owner: LockOwner): { message: string; lost: boolean } | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    const lost = (e as NodeJS.ErrnoException).code === "ENOENT";
    return { lost, message: lost ? lostMessage(path, undefined) : `${path}: heartbeat failed (${(e as Error).message})` };
  }
  try {
    const current = parseOwner(readFileSync(fd, "utf8"));
    if (!sameOwner(current, owner)) return { lost: true, message: lostMessage(path, current) };
    const now = new Date();
    futimesSync(fd, now, now);
    return undefined;
  } catch (e) {
    return { lost: false, message: `${path}: heartbeat failed (${(e as Error).message})` };
  } finally {
    closeSync(fd);
  }
}

/** Why a holder no longer holds its lock: gone, or someone else's now. */
function lostMessage(path: string, current: LockOwner | undefined): string {
  return current === undefined
    ? `${path} was removed while this process held it: the data dir is no longer guarded`
    : `${path} now belongs to ${current.role} pid ${current.pid} on ${current.host} (since ${current.started_at}): this process lost the lock`;
}
