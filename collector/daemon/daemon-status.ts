// What a running daemon publishes about itself, once per round: `daemon.json` in the state dir
// (read by `status`, which cannot open the log while the daemon holds it) and /metrics. Bounded:
// a few lines per source, whatever the backlog.
import { readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { EnforcementView } from "../enforce/site-enforcer.ts";
import type { EdgeLinkView } from "./edge-link.ts";
import type { LogStorage } from "./log-storage.ts";
import type { SourceHealthView } from "./source-health.ts";

export const DAEMON_STATUS_FILE = "daemon.json";
const FORMAT = "tally-daemon-status/v1";

export interface DaemonStatus {
  format: typeof FORMAT;
  pid: number;
  started_at: number;
  /** When this was written (ms). */
  at: number;
  running: boolean;
  sources: SourceHealthView[];
  log: { first_seq: number; last_seq: number; acked_seq: number; pending: number };
  /** Records this daemon process appended. */
  appended: number;
  last_receipt: { acked_seq: number; received_at: number } | null;
  sync: EdgeLinkView;
  /** Appends are paused while the disk is full; nothing is lost, the sources are read again. */
  disk_full: { since: number; message: string } | null;
  /** The log's bytes, its disk's room, and a warning before that fills (log-storage.ts; absent
   *  from a daemon.json an older daemon wrote). */
  storage?: LogStorage;
  scope: Array<{ daemon: string; features: string[] }> | null;
  pseudonymise: boolean;
  /** Site-side enforcement, when configured. */
  enforcement?: EnforcementView | null;
}

export function daemonStatusPath(stateDir: string): string {
  return join(stateDir, DAEMON_STATUS_FILE);
}

/** Replaced atomically, not fsynced: it is a view, rewritten every round, and worthless after a crash. */
export async function writeDaemonStatus(stateDir: string, status: DaemonStatus): Promise<void> {
  const path = daemonStatusPath(stateDir);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(status, null, 1) + "\n", { mode: 0o644 });
  await rename(tmp, path);
}

export async function readDaemonStatus(stateDir: string): Promise<DaemonStatus | null> {
  try {
    const parsed = JSON.parse(await readFile(daemonStatusPath(stateDir), "utf8")) as DaemonStatus;
    return parsed.format === FORMAT ? parsed : null;
  } catch {
    return null;
  }
}
