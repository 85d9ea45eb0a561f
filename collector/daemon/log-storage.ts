// What the log takes of its disk, and the warning an air-gapped site needs before that disk fills:
// nothing is freed from the log until receipts come back (`import-receipt`, or a sync), so a site
// whose operator stopped carrying bundles and receipts grows by every record it collects. Shown
// by `status` and the daemon (daemon.json, /metrics) long before `disk_full` stops appends.
import { statfs } from "node:fs/promises";

export interface LogStorage {
  /** Bytes of the segments the log keeps (what receipts let it release). */
  log_bytes: number;
  /** Of the file system holding the log; null where it cannot be asked. */
  free_bytes: number | null;
  total_bytes: number | null;
  warning: string | null;
}

/**
 * The warning is raised once what waits for a receipt outweighs the room left: at the pace it
 * gathered, the disk fills in less time than it took — whatever the disk's size or the site's
 * rate, with that time still ahead.
 */
export async function logStorage(logDir: string, logBytes: number, pending: number): Promise<LogStorage> {
  let free: number | null = null;
  let total: number | null = null;
  try {
    const s = await statfs(logDir);
    free = s.bavail * s.bsize;
    total = s.blocks * s.bsize;
  } catch {
    // No statfs here (or no access): the figures stay unknown, never a failure of status.
  }
  const warning = pending > 0 && free !== null && free < logBytes
    ? `the log keeps ${mb(logBytes)} MB of records, ${pending} of them not receipted, and its disk has ${mb(free)} MB free: nothing is released until receipts come back — sync, or export and import-receipt, before the disk fills`
    : null;
  return { log_bytes: logBytes, free_bytes: free, total_bytes: total, warning };
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
