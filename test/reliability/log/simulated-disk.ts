// An in-memory disk behind the log's LogFs interface that knows, per file, which bytes are
// durable (fsynced) and which are only in the "page cache", and per directory which entries are
// durable. It can cut the power at a chosen I/O step (power-cut.ts decides what survives), let the
// process die without a power cut (kill -9: the page cache survives), and inject one-shot I/O
// faults (EIO, ENOSPC) at a chosen step. Every mutating or syncing call is one numbered step.
import { posix } from "node:path";
import type { LogFile, LogFs, OpenMode } from "../../../collector/log/log-fs.ts";
import { applyPendingDirOps, applyPendingOps, type DataOp, type DirFate, type DirOp, type Fate, type FateChoice, type FateProfile, type Random } from "./power-cut.ts";

interface FileNode { kind: "file"; current: Uint8Array; durable: Uint8Array; pending: DataOp[] }
interface DirNode { kind: "dir"; current: Map<string, Node>; durable: Map<string, Node>; pending: DirOp<Node>[] }
type Node = FileNode | DirNode;

export type FaultKind = "eio" | "enospc";
export type StepKind = "mkdir" | "open" | "create" | "write" | "sync" | "truncate" | "rename" | "link" | "unlink" | "fsync_dir";

/** What a step can be made to fail with. */
export function faultsFor(kind: StepKind): FaultKind[] {
  if (kind === "write") return ["eio", "enospc"];
  if (kind === "create" || kind === "mkdir" || kind === "link") return ["eio", "enospc"];
  return ["eio"];
}

/** State shared by every process that uses this disk until the power goes. */
interface Machine {
  root: DirNode;
  random: Random;
  profile: FateProfile;
  pageBytes: number;
  capacity: number;
  step: number;
  steps: StepKind[];
  crashAtStep: number | null;
  killAtSteps: Set<number>;
  /** Cut the power before a sync step with this chance (so the cut finds unsynced bytes). */
  crashBeforeSyncChance: number;
  faults: Map<number, FaultKind>;
  /** A short write filled the disk: the next write fails with ENOSPC. */
  fullAfterShortWrite: boolean;
  image: SimulatedDisk | null;
  fates: Fate[];
  dirFates: DirFate[];
}

export interface DiskOptions { random: Random; profile?: FateProfile; pageBytes?: number; capacity?: number }

export class PowerCut extends Error {
  readonly code = "EPOWERCUT";
}

export class ProcessKilled extends Error {
  readonly code = "EKILLED";
}

function fsError(code: string, what: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${what}`), { code });
}

export class SimulatedDisk implements LogFs {
  readonly #machine: Machine;
  #alive = true;

  constructor(options: DiskOptions | { machine: Machine }) {
    this.#machine = "machine" in options ? options.machine : {
      root: { kind: "dir", current: new Map(), durable: new Map(), pending: [] },
      random: options.random, profile: options.profile ?? "any", pageBytes: options.pageBytes ?? 4096,
      capacity: options.capacity ?? Infinity, step: 0, steps: [], crashAtStep: null, killAtSteps: new Set(), crashBeforeSyncChance: 0, faults: new Map(),
      fullAfterShortWrite: false, image: null, fates: [], dirFates: [],
    };
  }

  /** Cut the power just before step `step` (1-based) runs; the image is then in `image`. */
  cutPowerAtStep(step: number): void { this.#machine.crashAtStep = step; }
  cutPowerBeforeASync(chance: number): void { this.#machine.crashBeforeSyncChance = chance; }
  /** Kill the process (not the power) just before step `step`: it throws ProcessKilled. */
  killProcessAtStep(step: number): void { this.#machine.killAtSteps.add(step); }
  injectFault(step: number, kind: FaultKind): void { this.#machine.faults.set(step, kind); }
  setCapacity(bytes: number): void { this.#machine.capacity = bytes; }
  get steps(): readonly StepKind[] { return this.#machine.steps; }
  get image(): SimulatedDisk | null { return this.#machine.image; }
  /** Fates applied so far (by power cuts and failed fsyncs). */
  get fates(): readonly Fate[] { return this.#machine.fates; }
  get dirFates(): readonly DirFate[] { return this.#machine.dirFates; }

  /** The process dies (kill -9): this view stops working, the page cache lives on in the returned one. */
  killProcess(): SimulatedDisk {
    this.#alive = false;
    return new SimulatedDisk({ machine: this.#machine });
  }

  /** The disk as it comes back after a power cut now, with fates drawn under `profile`. */
  powerCut(profile: FateProfile = this.#machine.profile): SimulatedDisk {
    const m = this.#machine;
    const choice: FateChoice = { profile, random: m.random, pageBytes: m.pageBytes, applied: m.fates };
    const files = new Map<FileNode, FileNode>();
    const survive = (dir: DirNode): DirNode => {
      const entries = new Map<string, Node>();
      for (const [name, node] of applyPendingDirOps(dir.durable, dir.pending, choice, m.dirFates)) {
        if (node.kind === "dir") {
          entries.set(name, survive(node));
          continue;
        }
        let copy = files.get(node);
        if (!copy) {
          const bytes = applyPendingOps(node.durable, node.pending, choice);
          copy = { kind: "file", current: bytes, durable: bytes, pending: [] };
          files.set(node, copy);
        }
        entries.set(name, copy);
      }
      return { kind: "dir", current: entries, durable: new Map(entries), pending: [] };
    };
    const root = survive(m.root);
    return new SimulatedDisk({ machine: { ...m, root, step: 0, steps: [], crashAtStep: null, killAtSteps: new Set(), crashBeforeSyncChance: 0, faults: new Map(), fullAfterShortWrite: false, image: null } });
  }

  /** Names and contents as a process would see them now (for assertions on raw bytes). */
  files(dir: string): Map<string, Uint8Array> {
    const node = this.#lookup(dir);
    const out = new Map<string, Uint8Array>();
    if (node?.kind === "dir") for (const [name, child] of node.current) if (child.kind === "file") out.set(name, child.current.slice());
    return out;
  }

  // --- LogFs ---

  async mkdirp(dir: string): Promise<string | undefined> {
    this.#step("mkdir");
    let node: DirNode = this.#machine.root;
    let first: string | undefined;
    let path = "";
    for (const part of parts(dir)) {
      path += `/${part}`;
      const child = node.current.get(part);
      if (child?.kind === "file") throw fsError("ENOTDIR", path);
      if (child) {
        node = child;
        continue;
      }
      const made: DirNode = { kind: "dir", current: new Map(), durable: new Map(), pending: [] };
      setEntry(node, part, made);
      first ??= path;
      node = made;
    }
    return first;
  }

  async open(path: string, mode: OpenMode): Promise<LogFile> {
    const existing = this.#lookup(path);
    if (mode === "r" || mode === "r+") {
      this.#step("open");
      if (!existing) throw fsError("ENOENT", path);
      if (existing.kind === "dir") throw fsError("EISDIR", path);
      return this.#handle(existing);
    }
    this.#step("create");
    if (existing && mode === "wx+") throw fsError("EEXIST", path);
    if (existing?.kind === "dir") throw fsError("EISDIR", path);
    if (existing) {
      truncateNode(existing, 0);
      return this.#handle(existing);
    }
    const node: FileNode = { kind: "file", current: new Uint8Array(0), durable: new Uint8Array(0), pending: [] };
    setEntry(this.#parent(path), posix.basename(path), node);
    return this.#handle(node);
  }

  async readFile(path: string): Promise<Uint8Array> {
    this.#check();
    const node = this.#lookup(path);
    if (!node) throw fsError("ENOENT", path);
    if (node.kind === "dir") throw fsError("EISDIR", path);
    return node.current.slice();
  }

  async rename(from: string, to: string): Promise<void> {
    this.#step("rename");
    const node = this.#lookup(from);
    if (!node) throw fsError("ENOENT", from);
    const source = this.#parent(from);
    const target = this.#parent(to);
    if (source !== target) throw fsError("EXDEV", "the simulated disk renames within one directory");
    source.current.delete(posix.basename(from));
    source.current.set(posix.basename(to), node);
    source.pending.push({ op: "rename", from: posix.basename(from), to: posix.basename(to), node });
  }

  async link(existing: string, newPath: string): Promise<void> {
    this.#step("link");
    const node = this.#lookup(existing);
    if (!node) throw fsError("ENOENT", existing);
    if (this.#lookup(newPath)) throw fsError("EEXIST", newPath);
    setEntry(this.#parent(newPath), posix.basename(newPath), node);
  }

  async unlink(path: string): Promise<void> {
    this.#step("unlink");
    const parent = this.#parent(path);
    const name = posix.basename(path);
    if (!parent.current.has(name)) throw fsError("ENOENT", path);
    parent.current.delete(name);
    parent.pending.push({ op: "delete", name });
  }

  async readdir(dir: string): Promise<string[]> {
    this.#check();
    const node = this.#lookup(dir);
    if (!node) throw fsError("ENOENT", dir);
    if (node.kind !== "dir") throw fsError("ENOTDIR", dir);
    return [...node.current.keys()].sort();
  }

  async fsyncDir(dir: string): Promise<void> {
    this.#step("fsync_dir");
    const node = this.#lookup(dir);
    if (node?.kind !== "dir") throw fsError("ENOENT", dir);
    node.durable = new Map(node.current);
    node.pending = [];
  }

  // --- internals ---

  #handle(node: FileNode): LogFile {
    let open = true;
    const usable = () => {
      if (!open) throw fsError("EBADF", "file is closed");
    };
    return {
      read: async (buffer, offset, length, position) => {
        this.#check();
        usable();
        const bytes = node.current.subarray(position, position + length);
        buffer.set(bytes, offset);
        return { bytesRead: bytes.length };
      },
      readFile: async () => {
        this.#check();
        usable();
        return node.current.slice();
      },
      write: async (buffer, offset, length, position) => {
        const fault = this.#step("write");
        usable();
        const m = this.#machine;
        if (m.fullAfterShortWrite) {
          m.fullAfterShortWrite = false;
          throw fsError("ENOSPC", "no space left on device");
        }
        let count = length;
        if (fault === "enospc") {
          count = Math.floor(m.random() * length);
          m.fullAfterShortWrite = true;
        }
        const room = m.capacity - this.#used() + Math.max(0, node.current.length - position);
        if (room <= 0 && count > 0) throw fsError("ENOSPC", "no space left on device");
        count = Math.min(count, room);
        this.#writeBytes(node, buffer.subarray(offset, offset + count), position);
        return { bytesWritten: count };
      },
      sync: async () => {
        this.#step("sync", () => {
          // fsyncgate: after a failed fsync the kernel has already dropped or half-written the
          // dirty pages, and a later fsync will not write them again.
          const m = this.#machine;
          node.durable = applyPendingOps(node.durable, node.pending, { profile: m.profile, random: m.random, pageBytes: m.pageBytes, applied: m.fates });
          node.pending = [];
        });
        usable();
        node.durable = node.current.slice();
        node.pending = [];
      },
      truncate: async (length) => {
        this.#step("truncate");
        usable();
        truncateNode(node, length);
      },
      close: async () => {
        this.#check();
        open = false;
      },
    };
  }

  #writeBytes(node: FileNode, bytes: Uint8Array, position: number): void {
    const end = position + bytes.length;
    if (end > node.current.length) {
      const grown = new Uint8Array(end);
      grown.set(node.current);
      node.current = grown;
    }
    node.current.set(bytes, position);
    node.pending.push({ op: "write", position, bytes: bytes.slice() });
  }

  #used(): number {
    let total = 0;
    const seen = new Set<FileNode>();
    const walk = (dir: DirNode) => {
      for (const node of dir.current.values()) {
        if (node.kind === "dir") walk(node);
        else if (!seen.has(node)) {
          seen.add(node);
          total += node.current.length;
        }
      }
    };
    walk(this.#machine.root);
    return total;
  }

  #check(): void {
    if (!this.#alive) throw new ProcessKilled("this process was killed");
    if (this.#machine.image) throw new PowerCut("the power is off");
  }

  /** Counts a step; cuts the power or fails it when planned. Returns an ENOSPC fault for write
   *  (which fails partway itself); throws every other fault after `onFail`. */
  #step(kind: StepKind, onFail?: () => void): FaultKind | undefined {
    this.#check();
    const m = this.#machine;
    m.step++;
    m.steps.push(kind);
    const beforeSync = (kind === "sync" || kind === "fsync_dir") && m.crashBeforeSyncChance > 0 && m.random() < m.crashBeforeSyncChance;
    if (m.crashAtStep === m.step || beforeSync) {
      m.image = this.powerCut();
      throw new PowerCut(`power cut before step ${m.step} (${kind})`);
    }
    if (m.killAtSteps.delete(m.step)) {
      this.#alive = false;
      throw new ProcessKilled(`process killed before step ${m.step} (${kind})`);
    }
    const fault = m.faults.get(m.step);
    if (fault === undefined) return undefined;
    if (fault === "enospc" && kind === "write") return fault;
    onFail?.();
    throw fsError(fault === "eio" ? "EIO" : "ENOSPC", `injected at step ${m.step} (${kind})`);
  }

  #lookup(path: string): Node | undefined {
    let node: Node = this.#machine.root;
    for (const part of parts(path)) {
      if (node.kind !== "dir") return undefined;
      const child: Node | undefined = node.current.get(part);
      if (!child) return undefined;
      node = child;
    }
    return node;
  }

  #parent(path: string): DirNode {
    const parent = this.#lookup(posix.dirname(path));
    if (parent?.kind !== "dir") throw fsError("ENOENT", posix.dirname(path));
    return parent;
  }
}

function parts(path: string): string[] {
  return posix.resolve(path).split("/").filter((p) => p.length > 0);
}

function setEntry(dir: DirNode, name: string, node: Node): void {
  dir.current.set(name, node);
  dir.pending.push({ op: "set", name, node });
}

function truncateNode(node: FileNode, size: number): void {
  const out = new Uint8Array(size);
  out.set(node.current.subarray(0, size));
  node.current = out;
  node.pending.push({ op: "truncate", size });
}
