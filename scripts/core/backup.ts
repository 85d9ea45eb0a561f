// `core backup --data DIR --out FILE`: a consistent copy of every database of a data dir — D1,
// every ContractDO and workerd's per-namespace indexes — in one tar, while the core serves.
//
// Consistency, per database: each copy is SQLite's online backup API reading from an open read
// transaction, i.e. one committed snapshot (the WAL included), never a file copy of a live
// database. Across databases: the core is asked (control.ts) to hold new requests until the ones
// in flight finish; every database is then pinned (a read transaction begun on each: opened
// beforehand, so a pin is tens of microseconds) and the hold released — so no API request
// straddles the cut, and requests wait only while the pins are taken, not while the data is
// copied. What still runs during the pinning is the ContractDOs'
// alarms: they only move outbox rows into D1 with idempotent upserts, so the DOs are pinned first
// and D1 last — a restored D1 may be ahead of a DO's outbox (re-applied, harmless), never behind.
// workerd's alarm indexes are pinned before the objects; restore re-adds to the index any alarm
// an object set after that (alarm-index.ts). With no core running the dir is locked for the
// backup's duration instead.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { DatabaseSync, backup as sqliteBackup } from "node:sqlite";
import { connectControl, type ControlClient } from "./control.ts";
import type { CoreLog } from "./core-log.ts";
import { dataDir, listDatabases, type StoredDatabase } from "./data-dir.ts";
import { CoreExit } from "./exit.ts";
import { acquireLock, LockHeldError, ownerAlive, readLockFile, type HeldLock } from "./lock.ts";
import { TarWriter } from "./tar.ts";

export const BACKUP_FORMAT = "tally-core-backup/v1";

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  created_at: string;
  /** online: taken from a serving core (held + pinned); offline: no core was running. */
  mode: "online" | "offline";
  /** How long new requests were held while the databases were pinned (online only). */
  hold_ms?: number;
  core?: Record<string, unknown>;
  databases: Array<StoredDatabase & { sha256: string }>;
  /** D1's applied migrations at the cut (from its `d1_migrations`). */
  d1_migrations: string[];
}

interface Pinned { db: StoredDatabase; conn: DatabaseSync }

/**
 * Opens a database and runs one read transaction on it, so that SQLite has the file, its `-wal`
 * and its `-shm` open and mapped: done before the hold, since that is nearly all of a pin's cost
 * (~2 ms a database; 10,000 contracts held requests for 15–45 s, past the core's 30 s hold limit,
 * and so failed every backup).
 */
function open(storage: string, db: StoredDatabase): Pinned {
  const conn = new DatabaseSync(join(storage, db.path));
  conn.exec("PRAGMA busy_timeout = 5000");
  conn.exec("BEGIN");
  conn.prepare("SELECT count(*) FROM sqlite_master").get();
  conn.exec("COMMIT");
  return { db, conn };
}

/** Opens a read transaction: from here on `conn` reads one snapshot, whatever others commit. */
function pin({ conn }: Pinned): void {
  conn.exec("BEGIN");
  conn.prepare("SELECT count(*) FROM sqlite_master").get();
}

/** Pins every database, in pin order; opens first any that appeared since `opened` was listed. */
function pinAll(storage: string, opened: Map<string, Pinned>, pinned: Pinned[]): void {
  for (const db of listDatabases(storage)) if (!opened.has(db.path)) opened.set(db.path, open(storage, db));
  for (const db of pinOrder([...opened.values()].map((o) => o.db))) {
    const one = opened.get(db.path)!;
    pin(one);
    pinned.push(one);
  }
}

/** workerd's alarm indexes, then the Durable Objects, then D1 (see the header and alarm-index.ts). */
function pinOrder(dbs: StoredDatabase[]): StoredDatabase[] {
  const rank = { metadata: 0, do: 1, d1: 2 } as const;
  return [...dbs].sort((a, b) => rank[a.kind] - rank[b.kind] || a.path.localeCompare(b.path));
}

export async function backup(options: { data: string; out: string; log: CoreLog }): Promise<number> {
  const { log } = options;
  const data = dataDir(options.data);
  if (!existsSync(data.storage)) throw new CoreExit(2, `${data.root} is not a core data dir (no v3/)`);
  const out = resolve(options.out);
  if (existsSync(out)) throw new CoreExit(2, `${out} exists: refusing to overwrite a backup`);
  // Checked before the data dir is locked or the core asked to hold: a missing folder is a usage
  // mistake (or a backup volume that is not mounted), never made here behind the operator's back.
  if (!statSync(dirname(out), { throwIfNoEntry: false })?.isDirectory()) {
    throw new CoreExit(2, `--out: the folder ${dirname(out)} does not exist (make it first: install -d -m 0700 ${dirname(out)})`);
  }

  const current = readLockFile(data.lock);
  const owner = current?.owner;
  let lock: HeldLock | undefined;
  let control: ControlClient | undefined;
  if (current && owner && owner.pid > 0 && ownerAlive(current)) {
    if (owner.role !== "core" || !owner.socket) throw new CoreExit(2, `${data.root} is busy: ${owner.role} pid ${owner.pid} holds it`);
    control = await connectControl(owner.socket).catch((e: Error) => {
      throw new CoreExit(1, `the core (pid ${owner.pid}) holds ${data.root} but its control socket ${owner.socket} does not answer: ${e.message}`);
    });
  } else {
    try {
      lock = acquireLock(data.lock, "backup", {}, { onHeartbeatFailure: (message, lost) => log.write({ event: "lock_heartbeat_failed", lost, message }) });
    } catch (error) {
      if (error instanceof LockHeldError) throw new CoreExit(2, `${data.root} is busy: ${error.message}`);
      throw error;
    }
  }

  const staging = mkdtempSync(join(dirname(out), `.${basename(out)}.`));
  const opened = new Map<string, Pinned>();
  const pinned: Pinned[] = [];
  try {
    for (const db of listDatabases(data.storage)) opened.set(db.path, open(data.storage, db));
    const manifest: BackupManifest = { format: BACKUP_FORMAT, created_at: "", mode: control ? "online" : "offline", databases: [], d1_migrations: [] };
    if (control) {
      manifest.core = await control.ask("status");
      const held = await control.ask("hold");
      if (!held.ok) throw new CoreExit(1, `the core would not hold requests: ${held.error}: ${held.message ?? ""}`);
      const t0 = performance.now();
      try {
        pinAll(data.storage, opened, pinned);
        manifest.created_at = new Date().toISOString();
      } finally {
        const released = await control.ask("release");
        manifest.hold_ms = Math.round(performance.now() - t0);
        if (!released.ok) throw new CoreExit(1, `the core released its hold before every database was pinned (${released.error}); nothing was written`);
      }
    } else {
      pinAll(data.storage, opened, pinned);
      manifest.created_at = new Date().toISOString();
    }
    log.write({ event: "backup_pinned", databases: pinned.length, mode: manifest.mode, hold_ms: manifest.hold_ms });

    // Same name as the target (so a .gz is gzip'd), in a staging dir on the same filesystem. One
    // database at a time: copied, checked, streamed into the tar (hashed on the way) and deleted,
    // so the staging holds one copy, not the data dir's size. The manifest, which needs every
    // copy's hash, is therefore the tar's last entry.
    const tmpOut = join(staging, basename(out));
    const tar = new TarWriter(tmpOut);
    if (existsSync(data.info)) await tar.addBuffer("core-data.json", readFileSync(data.info));
    for (const { db, conn } of pinned) {
      const file = join(staging, "copy.sqlite");
      // Many pages per step: fewer round trips; the snapshot is pinned, so steps cannot tear it.
      await sqliteBackup(conn, file, { rate: 1 << 16 });
      conn.exec("COMMIT");
      conn.close();
      const check = new DatabaseSync(file);
      const ok = (check.prepare("PRAGMA quick_check").get() as { quick_check: string }).quick_check;
      if (db.kind === "d1") {
        const has = check.prepare("SELECT 1 FROM sqlite_master WHERE name = 'd1_migrations'").get();
        if (has) manifest.d1_migrations = (check.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as Array<{ name: string }>).map((r) => r.name);
      }
      check.close();
      if (ok !== "ok") throw new CoreExit(1, `the copy of ${db.path} fails SQLite's quick_check: ${ok}`);
      const bytes = statSync(file).size;
      const hash = createHash("sha256");
      await tar.addFile(`v3/${db.path}`, file, bytes, (chunk) => hash.update(chunk));
      rmSync(file);
      manifest.databases.push({ ...db, bytes, sha256: hash.digest("hex") });
    }
    await tar.addBuffer("manifest.json", Buffer.from(JSON.stringify(manifest, null, 2) + "\n"));
    await tar.finish();
    renameSync(tmpOut, out);
    const bytes = statSync(out).size;
    log.write({ event: "backup_done", out, databases: manifest.databases.length, bytes, mode: manifest.mode, hold_ms: manifest.hold_ms, created_at: manifest.created_at });
    return 0;
  } finally {
    for (const { conn } of opened.values()) {
      try { conn.close(); } catch { /* already closed */ }
    }
    control?.close();
    lock?.release();
    rmSync(staging, { recursive: true, force: true });
  }
}
