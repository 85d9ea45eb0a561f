// Start-up costs the newest segment, whatever the backlog: sealed segments come with an index file
// (segment-index.ts) and open reads those, not the segments. And forget() removes the surviving
// frames of a batch a crash cut short, across segments, never an acked entry.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodeFileOps, posixLogFs, type FileOps } from "../../../collector/log/log-fs.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-index-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

const payload = (n: number) => new TextEncoder().encode(`{"n":${n},"pad":"${"i".repeat(200)}"}`);

/** node:fs that counts the bytes whole-file reads return, per file name. */
function countingFs() {
  const read = new Map<string, number>();
  const ops: FileOps = { ...nodeFileOps, readFile: async (path) => {
    const bytes = await nodeFileOps.readFile(path);
    const name = path.split("/").pop()!;
    read.set(name, (read.get(name) ?? 0) + bytes.length);
    return bytes;
  } };
  return { fs: posixLogFs(ops), read };
}

async function filled(name: string, entries: number): Promise<string> {
  const path = join(dir, name);
  const { log } = await SegmentLog.open(path, { segmentBytes: 64 * 1024 });
  for (let i = 0; i < entries; i += 500) await log.append(Array.from({ length: Math.min(500, entries - i) }, (_, k) => payload(i + k + 1)));
  await log.close();
  return path;
}

describe("segment index", () => {
  it("open reads the newest segment and the index files only, however many sealed segments there are", async () => {
    for (const entries of [2_000, 20_000]) {
      const path = await filled(`log-${entries}`, entries);
      const { fs, read } = countingFs();
      const { log, recovery } = await SegmentLog.open(path, { fs, segmentBytes: 64 * 1024 });
      expect(recovery.lastSeq).toBe(entries);
      const readAtOpen = [...read.keys()].filter((n) => n.endsWith(".log"));
      const all = (await log.verify()).segments.map((s) => s.name);
      expect(all.length).toBeGreaterThan(entries / 300);
      expect(readAtOpen).toEqual([all.at(-1)]); // the newest only
      // Every entry still reads back, CRC-checked, through the indexes.
      const back = await log.read(1, { maxCount: entries, maxBytes: 64 << 20 });
      expect(back.map((e) => e.seq)).toEqual(Array.from({ length: entries }, (_, i) => i + 1));
      await log.close();
    }
  });

  it("forget removes the entries after a seq, across segments; the log appends after it and reopens the same", async () => {
    const path = await filled("forget", 3_000);
    const { log } = await SegmentLog.open(path, { segmentBytes: 64 * 1024 });
    await log.acknowledge(100, { acked_seq: 100 });
    await expect(log.forget(99)).rejects.toMatchObject({ code: "forget_acked" });
    expect(await log.forget(1_234)).toEqual({ removed: 1_766 });
    expect(log.lastSeq()).toBe(1_234);
    expect(await log.append([payload(9_999)])).toEqual({ firstSeq: 1_235, lastSeq: 1_235 });
    await log.close();
    const { log: reopened, recovery } = await SegmentLog.open(path, { segmentBytes: 64 * 1024 });
    expect(recovery).toMatchObject({ lastSeq: 1_235, droppedTail: null });
    expect((await reopened.verify()).ok).toBe(true);
    expect(new TextDecoder().decode((await reopened.read(1_235))[0]!.payload)).toContain('"n":9999');
    await reopened.close();
  });
});
