// `core restore --from FILE --data DIR`: a new data dir from a backup (backup.ts). Every file is
// checked against the manifest (size, SHA-256) and every database passes SQLite's quick_check
// before the dir appears: the restore is written to a staging dir beside DIR and renamed into
// place only when complete, so a failed restore leaves nothing a core could start on.
import { createHash } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { once } from "node:events";
import { dirname, join, normalize, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { repairAlarmIndex } from "./alarm-index.ts";
import { BACKUP_FORMAT, type BackupManifest } from "./backup.ts";
import type { CoreLog } from "./core-log.ts";
import { dataDir, readDataInfo, writeDataInfo, DATA_FORMAT, type DataInfo } from "./data-dir.ts";
import { CoreExit } from "./exit.ts";
import { acquireLock } from "./lock.ts";
import { bodyToBuffer, readTar, TarError } from "./tar.ts";

export async function restore(options: { from: string; data: string; log: CoreLog }): Promise<number> {
  const from = resolve(options.from);
  if (!existsSync(from)) throw new CoreExit(2, `${from} does not exist`);
  const target = dataDir(options.data);
  if (existsSync(target.root) && readdirSync(target.root).length > 0) {
    throw new CoreExit(2, `${target.root} exists and is not empty: restore makes a new data dir`);
  }
  mkdirSync(dirname(target.root), { recursive: true });
  const staging = dataDir(`${target.root}.restoring-${process.pid}`);
  mkdirSync(staging.root, { mode: 0o700 });
  const lock = acquireLock(staging.lock, "restore", {}, { onHeartbeatFailure: (message, lost) => options.log.write({ event: "lock_heartbeat_failed", lost, message }) });
  let manifest: BackupManifest | undefined;
  // What each database entry held, checked against the manifest once it is read: it is the first
  // entry of backups made before the copies were streamed one at a time, the last since.
  const seen = new Map<string, { bytes: number; sha256: string }>();
  try {
    let info: DataInfo | undefined;
    for await (const entry of readTar(from)) {
      if (entry.name === "manifest.json") {
        manifest = JSON.parse((await bodyToBuffer(entry.body)).toString("utf8")) as BackupManifest;
        if (manifest.format !== BACKUP_FORMAT) throw new CoreExit(2, `${from}: not a Tally core backup (format ${JSON.stringify(manifest.format)})`);
        continue;
      }
      if (entry.name === "core-data.json") {
        info = JSON.parse((await bodyToBuffer(entry.body)).toString("utf8")) as DataInfo;
        continue;
      }
      const path = entry.name.startsWith("v3/") ? entry.name.slice(3) : "";
      if (!/^(d1|do)\/[^/]+\/[^/]+\.sqlite$/.test(path) || normalize(path) !== path || path.includes("..") || seen.has(path)) {
        throw new CoreExit(manifest || seen.size > 0 ? 1 : 2, `${from}: unexpected entry ${entry.name}`);
      }
      const file = join(staging.storage, path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      const hash = createHash("sha256");
      const sink = createWriteStream(file, { mode: 0o600 });
      for await (const chunk of entry.body) {
        hash.update(chunk);
        if (!sink.write(chunk)) await once(sink, "drain");
      }
      sink.end();
      await once(sink, "close");
      seen.set(path, { bytes: entry.size, sha256: hash.digest("hex") });
    }
    if (!manifest) throw new CoreExit(seen.size > 0 ? 1 : 2, `${from}: no manifest${seen.size > 0 ? " (damaged or truncated backup)" : ""}`);
    const listed = new Set(manifest.databases.map((d) => d.path));
    const extra = [...seen.keys()].find((path) => !listed.has(path));
    if (extra) throw new CoreExit(1, `${from}: unexpected entry v3/${extra}`);
    for (const expected of manifest.databases) {
      const got = seen.get(expected.path);
      if (!got) throw new CoreExit(1, `${from}: missing ${expected.path}`);
      if (got.bytes !== expected.bytes || got.sha256 !== expected.sha256) throw new CoreExit(1, `${from}: v3/${expected.path} does not match the manifest (damaged backup)`);
    }
    for (const db of manifest.databases) {
      const conn = new DatabaseSync(join(staging.storage, db.path));
      const ok = (conn.prepare("PRAGMA quick_check").get() as { quick_check: string }).quick_check;
      conn.close();
      if (ok !== "ok") throw new CoreExit(1, `${db.path} fails SQLite's quick_check after restore: ${ok}`);
    }
    const alarms = repairAlarmIndex(staging.storage);
    if (alarms.unrecognised.length > 0) options.log.write({ event: "restore_alarm_index_unrecognised", tables: alarms.unrecognised });
    writeDataInfo(staging, {
      ...(info ?? { format: DATA_FORMAT, created_at: manifest.created_at, builds: [] }),
      restored_from: { file: from, backup_created_at: manifest.created_at, restored_at: new Date().toISOString() },
    });
    lock.release();
    renameSync(staging.root, target.root);
    options.log.write({ event: "restore_done", data: target.root, databases: manifest.databases.length, alarms_reindexed: alarms.added, backup_created_at: manifest.created_at, builds: readDataInfo(target)?.builds.length ?? 0 });
    return 0;
  } catch (error) {
    lock.release();
    rmSync(staging.root, { recursive: true, force: true });
    // The tar reader's own refusals (not a tar, truncated, bad header): before the manifest or a
    // database the file is not a backup (a usage mistake, 2); after one, a damaged one (1).
    const begun = manifest !== undefined || seen.size > 0;
    if (error instanceof TarError) throw new CoreExit(begun ? 1 : 2, `${begun ? "damaged backup" : "not a Tally core backup"}: ${error.message}`);
    throw error;
  }
}
