// What opening the log does before it can append (FORMAT.md "Recovery"): the directory chain made
// durable, the lock taken, the cursor and segments read back and made durable, a torn final frame
// truncated. Any other damage throws `log_corrupt` and changes nothing.
import { dirname, join } from "node:path";
import { loadCursor, type Cursor } from "./cursor.ts";
import { lockDirectory, type DirLock } from "./dir-lock.ts";
import type { LogFile, LogFs } from "./log-fs.ts";
import { scanLog, type SegmentState, type TornTail } from "./log-scan.ts";
import { createSegment, listSegmentFiles, segmentName } from "./segment-files.ts";
import { maintainIndexes } from "./segment-index.ts";

export interface RecoveredLog {
  lock: DirLock;
  cursor: Cursor;
  /** A `cursor.json.tmp` from a crash mid-acknowledge was removed. */
  removedCursorTmp: boolean;
  segments: SegmentState[];
  /** The torn final frame that was truncated away, or null. */
  tail: TornTail | null;
  /** Open on the last segment, at its end. */
  writer: LogFile;
}

/** Recovers the log in `dir` (created if needed) and holds its lock; on failure the lock is released. */
export async function recoverLog(fs: LogFs, dir: string): Promise<RecoveredLog> {
  await fs.mkdirp(dir);
  // Each directory's entry lives in its parent, which must be fsynced for it to last. Every open
  // does the whole chain, not only when it created a directory: a previous open may have made
  // them and been killed before its fsyncs. An ancestor we may not read we did not create.
  for (let child = dir; dirname(child) !== child; child = dirname(child)) {
    await fs.fsyncDir(dirname(child)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EACCES" && e.code !== "EPERM") throw e;
    });
  }
  const lock = await lockDirectory(fs, dir);
  try {
    const { cursor, removedTmp } = await loadCursor(fs, dir);
    // What open reads may exist only in the page cache (the previous process was killed before
    // its fsyncs): make it durable before relying on it. The directory first — a cursor rename
    // or a segment removal that open sees must not revert after a later power cut.
    await fs.fsyncDir(dir);
    const listing = await listSegmentFiles(fs, dir);
    const { segments, tail, unindexed } = await scanLog(fs, dir, listing.segments, cursor.ackedSeq, { allowTornTail: true, useIndex: true });
    await maintainIndexes(fs, dir, listing, unindexed);
    const last = segments[segments.length - 1];
    if (!last) {
      const writer = await createSegment(fs, dir, 1);
      segments.push({ name: segmentName(1), firstSeq: 1, entries: 0, size: 0, index: [] });
      return { lock, cursor, removedCursorTmp: removedTmp, segments, tail, writer };
    }
    const writer = await fs.open(join(dir, last.name), "r+");
    try {
      if (tail) await writer.truncate(tail.offset);
      // Complete frames of a batch whose fsync never ran count as entries from here on.
      await writer.sync();
    } catch (e) {
      await writer.close().catch(() => undefined);
      throw e;
    }
    return { lock, cursor, removedCursorTmp: removedTmp, segments, tail, writer };
  } catch (e) {
    await lock.release();
    throw e;
  }
}
