// The contract-doc replica's home in the state dir (`contract-doc.bin`): a ReplicaStore whose
// save replaces the file atomically (temp file, fsync, rename, fsync of the dir), so a crash
// leaves the old replica or the new one. Synchronous because ReplicaStore is.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { ContractDocReplica, type ReplicaStore } from "../../shared/contract-doc/index.ts";
import type { StatePaths } from "../state/state-dir.ts";

export function replicaPath(paths: StatePaths): string {
  return join(paths.dir, "contract-doc.bin");
}

export class ReplicaFile implements ReplicaStore {
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  load(): Uint8Array | null {
    try {
      return new Uint8Array(readFileSync(this.path));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  save(blob: Uint8Array): void {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, "w", 0o644);
    try {
      let at = 0;
      while (at < blob.length) at += writeSync(fd, blob, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    // Windows refuses to open a directory; NTFS makes the rename durable itself (log/log-fs.ts).
    if (process.platform === "win32") return;
    const dir = openSync(join(this.path, ".."), "r");
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

export function openReplica(paths: StatePaths, collectorId: string): ContractDocReplica {
  return ContractDocReplica.open(new ReplicaFile(replicaPath(paths)), collectorId);
}
