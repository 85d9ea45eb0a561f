// Windows refuses `open(dir, "r")`, which POSIX needs to fsync a directory. The log there flushes
// its files and never opens a directory (log-fs.ts, FORMAT.md "Windows"). Tested on Linux through
// the LogFs seam, with real files under a layer that refuses directory opens as Windows does.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeFileOps, posixLogFs, windowsLogFs, type FileOps } from "../../../collector/log/log-fs.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-winfs-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Real files; opening a directory fails as on Windows (EISDIR), and is counted. */
function windowsLikeOps(): FileOps & { directoryOpens: number; fileSyncs: number } {
  const ops = {
    ...nodeFileOps,
    directoryOpens: 0,
    fileSyncs: 0,
    async open(path: string, mode: Parameters<FileOps["open"]>[1], permissions?: number) {
      if ((await stat(path).catch(() => null))?.isDirectory()) {
        ops.directoryOpens++;
        throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: "EISDIR" });
      }
      const file = await nodeFileOps.open(path, mode, permissions);
      const sync = file.sync.bind(file);
      file.sync = async () => { ops.fileSyncs++; await sync(); };
      return file;
    },
  };
  return ops;
}

const payload = (n: number) => new TextEncoder().encode(`{"n":${n},"pad":"${"w".repeat(40)}"}`);

describe("the log on a Windows-like file system", () => {
  it("the POSIX policy cannot even open the log there (it fsyncs directories)", async () => {
    const ops = windowsLikeOps();
    await expect(SegmentLog.open(join(dir, "posix"), { fs: posixLogFs(ops) })).rejects.toMatchObject({ code: "EISDIR" });
    expect(ops.directoryOpens).toBeGreaterThan(0);
  });

  it("the Windows policy opens, appends across segments, acknowledges, releases and reopens — never opening a directory, flushing every file", async () => {
    const ops = windowsLikeOps();
    const fs = windowsLogFs(ops);
    const path = join(dir, "windows", "log");
    const { log } = await SegmentLog.open(path, { fs, segmentBytes: 200 });
    for (let i = 0; i < 10; i++) await log.append([payload(3 * i + 1), payload(3 * i + 2), payload(3 * i + 3)]);
    await log.acknowledge(15, { acked_seq: 15 });
    expect((await log.release()).removedSegments.length).toBeGreaterThan(0);
    await log.close();
    const { log: reopened, recovery } = await SegmentLog.open(path, { fs, segmentBytes: 200 });
    expect(recovery).toMatchObject({ lastSeq: 30, ackedSeq: 15, droppedTail: null });
    expect((await reopened.read(16, { maxCount: 100 })).map((e) => e.seq)).toEqual(Array.from({ length: 15 }, (_, i) => 16 + i));
    expect((await reopened.verify()).ok).toBe(true);
    await reopened.close();
    expect(ops.directoryOpens).toBe(0);
    expect(ops.fileSyncs).toBeGreaterThanOrEqual(10); // every append's data was flushed
  });
});
