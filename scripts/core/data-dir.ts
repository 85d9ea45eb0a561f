// The layout of a core's data dir. Storage follows `wrangler dev --persist-to DIR` exactly, so
// wrangler's local tools (`wrangler d1 execute DB --local --persist-to DIR`) read a stopped
// core's data:
//
//   DIR/core-data.json                  what made the dir, and every build that has run on it
//   DIR/core.lock                       the running core (or backup/restore): pid, control socket
//   DIR/v3/d1/miniflare-D1DatabaseObject/<sha256 of the D1 id>.sqlite     D1 (+ -wal, -shm)
//   DIR/v3/do/<worker>-<class>/<durable object id>.sqlite                 one per ContractDO
//   DIR/v3/do/<worker>-<class>/metadata.sqlite, DIR/v3/d1/…/metadata.sqlite  workerd's per-
//                                       namespace index of objects and their scheduled alarms
//   DIR/v3/cache/                       the Cache API's store (not backed up: a cache)
//
// Every .sqlite file is in WAL mode while workerd has it open: a copy of the .sqlite file alone
// misses what the -wal holds, which is why backups go through SQLite (backup.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import type { CoreBuild } from "./build.ts";

export const DATA_FORMAT = "tally-core-data/v1";

export interface DataDir {
  root: string;
  /** miniflare's resourcePersistencePath. */
  storage: string;
  lock: string;
  info: string;
}

export function dataDir(root: string): DataDir {
  const abs = resolve(root);
  return { root: abs, storage: join(abs, "v3"), lock: join(abs, "core.lock"), info: join(abs, "core-data.json") };
}

export interface DataInfo {
  format: typeof DATA_FORMAT;
  created_at: string;
  /** Builds that have served this dir, oldest first (an upgrade appends one). */
  builds: Array<{ source_hash: string; package_version: string; commit?: string; first_started_at: string }>;
  /** Set by `core restore`: where the data came from. */
  restored_from?: { file: string; backup_created_at: string; restored_at: string };
}

export function readDataInfo(dir: DataDir): DataInfo | undefined {
  if (!existsSync(dir.info)) return undefined;
  const info = JSON.parse(readFileSync(dir.info, "utf8")) as DataInfo;
  if (info.format !== DATA_FORMAT) throw new Error(`${dir.info}: unknown format ${JSON.stringify(info.format)}`);
  return info;
}

export function writeDataInfo(dir: DataDir, info: DataInfo): void {
  writeFileSync(dir.info, JSON.stringify(info, null, 2) + "\n", { mode: 0o600 });
}

/** Records that `build` is starting on the dir (creating the dir's info on first use). */
export function noteBuild(dir: DataDir, build: CoreBuild, now = new Date()): DataInfo {
  mkdirSync(dir.storage, { recursive: true, mode: 0o700 });
  const info = readDataInfo(dir) ?? { format: DATA_FORMAT, created_at: now.toISOString(), builds: [] };
  if (info.builds.at(-1)?.source_hash !== build.source_hash) {
    info.builds.push({ source_hash: build.source_hash, package_version: build.package_version, ...(build.commit ? { commit: build.commit } : {}), first_started_at: now.toISOString() });
  }
  writeDataInfo(dir, info);
  return info;
}

export type DatabaseKind = "d1" | "do" | "metadata";

export interface StoredDatabase {
  /** Path relative to the storage dir, with forward slashes (the same in a backup). */
  path: string;
  kind: DatabaseKind;
  bytes: number;
}

/** Every SQLite database the core keeps (D1, Durable Objects, workerd's namespace indexes). */
export function listDatabases(storage: string): StoredDatabase[] {
  const out: StoredDatabase[] = [];
  for (const plugin of ["d1", "do"] as const) {
    const base = join(storage, plugin);
    if (!existsSync(base)) continue;
    for (const namespace of readdirSync(base, { withFileTypes: true })) {
      if (!namespace.isDirectory()) continue;
      for (const file of readdirSync(join(base, namespace.name))) {
        if (!file.endsWith(".sqlite")) continue;
        const abs = join(base, namespace.name, file);
        const kind: DatabaseKind = file === "metadata.sqlite" ? "metadata" : plugin;
        out.push({ path: relative(storage, abs).split("\\").join("/"), kind, bytes: statSync(abs).size + walBytes(abs) });
      }
    }
  }
  return out.sort((a, b) => a.path.localeCompare(b.path));
}

function walBytes(db: string): number {
  try {
    return statSync(`${db}-wal`).size;
  } catch {
    return 0;
  }
}
