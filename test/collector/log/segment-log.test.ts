// The log's contract with its callers: numbering, group commit, segment roll, the receipt
// cursor, release, the directory lock (collector/log/FORMAT.md).
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { HEADER_BYTES, crc32c } from "../../../collector/log/frame.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tally-log-"));
  dirs.push(dir);
  return join(dir, "log");
}

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);
/** A JSON record of exactly 40 payload bytes, so frames are 60 bytes. */
const record = (seq: number) => bytes(`{"kind":"usage","seq":${String(seq).padStart(17, "0")}}`);

describe("CRC32C", () => {
  it("matches the standard check value for '123456789' (RFC 3720 / iSCSI)", () => {
    expect(crc32c(bytes("123456789"))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
});

describe("SegmentLog", () => {
  it("numbers entries from 1 and reads back exactly what was appended, also after reopen", async () => {
    const dir = await tempDir();
    const { log, recovery } = await SegmentLog.open(dir);
    expect(recovery).toEqual({ droppedTail: null, removedCursorTmp: false, staleLockOwner: null, firstSeq: 1, lastSeq: 0, ackedSeq: 0, segments: 1 });
    expect(await log.append([bytes("a"), bytes(""), bytes("ccc")])).toEqual({ firstSeq: 1, lastSeq: 3 });
    expect(await log.append([bytes("d")])).toEqual({ firstSeq: 4, lastSeq: 4 });
    expect(await log.append([])).toEqual({ firstSeq: 5, lastSeq: 4 });
    await log.close();

    const reopened = await SegmentLog.open(dir);
    expect(reopened.recovery.lastSeq).toBe(4);
    const entries = await reopened.log.read(1);
    expect(entries.map((e) => [e.seq, text(e.payload)])).toEqual([[1, "a"], [2, ""], [3, "ccc"], [4, "d"]]);
    expect((await reopened.log.read(3)).map((e) => e.seq)).toEqual([3, 4]);
    expect(await reopened.log.read(5)).toEqual([]);
    await reopened.log.close();
  });

  it("creates missing parent directories of the log", async () => {
    const dir = join(await tempDir(), "state", "log");
    const { log } = await SegmentLog.open(dir);
    await log.append([bytes("x")]);
    await log.close();
    expect(await readdir(dir)).toEqual(["seg-000000000001.log"]);
  });

  it("writes the documented frame: header CRC, length, seq, payload CRC, payload", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir);
    await log.append([bytes("hi")]);
    await log.close();
    const file = await readFile(join(dir, "seg-000000000001.log"));
    expect(file.length).toBe(HEADER_BYTES + 2);
    expect(file.readUInt32LE(4)).toBe(2);
    expect(file.readBigUInt64LE(8)).toBe(1n);
    expect(file.readUInt32LE(16)).toBe(crc32c(bytes("hi")));
    expect(file.readUInt32LE(0)).toBe(crc32c(file.subarray(4, 20)));
    expect(file.subarray(20).toString()).toBe("hi");
  });

  it("rolls to a new segment, named by its first seq, when the next frame would pass the size limit", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir, { segmentBytes: 150 });
    await log.append([1, 2, 3, 4, 5].map(record));
    await log.append([6].map(record));
    await log.append([bytes("x".repeat(500))]);
    await log.append([8].map(record));
    await log.close();
    // 60-byte frames: two fit in 150 bytes; an oversized frame goes alone into its own segment.
    // Every sealed segment has its index file; the one being written has none.
    expect((await readdir(dir)).filter((n) => n.startsWith("seg-")).sort()).toEqual([
      "seg-000000000001.idx", "seg-000000000001.log", "seg-000000000003.idx", "seg-000000000003.log",
      "seg-000000000005.idx", "seg-000000000005.log", "seg-000000000007.idx", "seg-000000000007.log", "seg-000000000008.log",
    ]);
    expect((await stat(join(dir, "seg-000000000007.log"))).size).toBe(520);
    const { log: reopened } = await SegmentLog.open(dir, { segmentBytes: 150 });
    expect((await reopened.read(1)).map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(text((await reopened.read(6, { maxCount: 1 }))[0]!.payload)).toBe(text(record(6)));
    await reopened.close();
  });

  it("read stops at maxCount and at maxBytes of payload, but always returns at least one entry", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir, { segmentBytes: 200 });
    await log.append(Array.from({ length: 10 }, (_, i) => record(i + 1)));
    expect((await log.read(2, { maxCount: 3 })).map((e) => e.seq)).toEqual([2, 3, 4]);
    expect((await log.read(2, { maxBytes: 120 })).map((e) => e.seq)).toEqual([2, 3, 4]);
    expect((await log.read(2, { maxBytes: 119 })).map((e) => e.seq)).toEqual([2, 3]);
    expect((await log.read(9, { maxBytes: 0 })).map((e) => e.seq)).toEqual([9]);
    await expect(log.read(0)).rejects.toMatchObject({ code: "invalid_argument" });
    await log.close();
  });

  it("reads across many segments from any seq (sparse index every 64 entries)", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir, { segmentBytes: 60 * 100 });
    for (let batch = 0; batch < 5; batch++) await log.append(Array.from({ length: 70 }, (_, i) => record(batch * 70 + i + 1)));
    for (const from of [1, 64, 65, 100, 101, 129, 200, 350]) {
      const got = await log.read(from, { maxCount: 400 });
      expect(got.map((e) => e.seq)).toEqual(Array.from({ length: 351 - from }, (_, i) => from + i));
      expect(got.every((e) => text(e.payload) === text(record(e.seq)))).toBe(true);
    }
    expect(await log.read(351)).toEqual([]);
    expect(await log.read(1000)).toEqual([]);
    await log.close();
  });

  it("refuses a payload over 4 MiB before writing anything", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir);
    await expect(log.append([bytes("ok"), new Uint8Array(4 * 1024 * 1024 + 1)])).rejects.toMatchObject({ code: "payload_too_large" });
    expect(log.lastSeq()).toBe(0);
    expect((await stat(join(dir, "seg-000000000001.log"))).size).toBe(0);
    await log.close();
  });

  it("a batch that fails mid-way (here: its new segment cannot be created) is rolled back whole", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir, { segmentBytes: 120 });
    await log.append([record(1)]);
    await mkdir(join(dir, "seg-000000000003.log")); // a directory where seq 3's segment must go
    await expect(log.append([2, 3, 4].map(record))).rejects.toMatchObject({ code: "EEXIST" });
    expect(log.lastSeq()).toBe(1);
    expect((await stat(join(dir, "seg-000000000001.log"))).size).toBe(60); // frame 2 was written and fsync'd, then cut
    await rm(join(dir, "seg-000000000003.log"), { recursive: true });
    expect(await log.append([bytes("b"), bytes("c")])).toEqual({ firstSeq: 2, lastSeq: 3 });
    await log.close();
    const { log: reopened } = await SegmentLog.open(dir, { segmentBytes: 120 });
    expect((await reopened.read(1)).map((e) => text(e.payload))).toEqual([text(record(1)), "b", "c"]);
    await reopened.close();
  });

  it("keeps the acked seq and its receipt across reopen; the cursor file is JSON", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir);
    await log.append([1, 2, 3].map(record));
    const receipt = { receipt: { collector_id: "col_1", acked_seq: 2, head: "ab".repeat(32), received_at: 1764280000000, key_id: "k1" }, signature: "cd".repeat(64) };
    await log.acknowledge(2, receipt);
    expect(log.ackedSeq()).toBe(2);
    await log.close();
    expect(JSON.parse(await readFile(join(dir, "cursor.json"), "utf8"))).toEqual({ format: "tally-log-cursor/v1", acked_seq: 2, receipt });
    const { log: reopened, recovery } = await SegmentLog.open(dir);
    expect(recovery.ackedSeq).toBe(2);
    expect(reopened.ackedSeq()).toBe(2);
    expect(reopened.receipt()).toEqual(receipt);
    await reopened.close();
  });

  it("refuses an acked seq that goes backwards or past the last entry, and keeps the old cursor", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir);
    await log.append([1, 2, 3].map(record));
    await log.acknowledge(2, { n: 1 });
    await expect(log.acknowledge(1, { n: 2 })).rejects.toMatchObject({ code: "ack_backwards" });
    await expect(log.acknowledge(4, { n: 3 })).rejects.toMatchObject({ code: "ack_beyond_log" });
    await expect(log.acknowledge(3, { n: 10n })).rejects.toMatchObject({ code: "invalid_argument" });
    await log.acknowledge(2, { n: 4 }); // the same seq again: a replayed batch's receipt replaces the old one
    expect([log.ackedSeq(), log.receipt()]).toEqual([2, { n: 4 }]);
    await log.close();
    const { log: reopened } = await SegmentLog.open(dir);
    expect([reopened.ackedSeq(), reopened.receipt()]).toEqual([2, { n: 4 }]);
    await reopened.close();
  });

  it("a cursor.json.tmp left by a crash is removed on open and the old cursor stands", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir);
    await log.append([1, 2].map(record));
    await log.acknowledge(1, "first");
    await log.close();
    await writeFile(join(dir, "cursor.json.tmp"), '{"format":"tally-log-cursor/v1","acked_se');
    const { log: reopened, recovery } = await SegmentLog.open(dir);
    expect([recovery.removedCursorTmp, reopened.ackedSeq(), reopened.receipt()]).toEqual([true, 1, "first"]);
    expect(await readdir(dir)).not.toContain("cursor.json.tmp");
    await reopened.close();
  });

  it("release removes exactly the segments whose every entry is acked, never the one being written", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir, { segmentBytes: 120 });
    await log.append([1, 2, 3, 4, 5, 6, 7].map(record)); // segments start at 1, 3, 5, 7
    expect(await log.release()).toEqual({ removedSegments: [] });
    await log.acknowledge(3, "r3"); // segment 3 holds 3 and 4: not fully acked
    expect(await log.release()).toEqual({ removedSegments: ["seg-000000000001.log"] });
    await log.acknowledge(6, "r6");
    expect(await log.release()).toEqual({ removedSegments: ["seg-000000000003.log", "seg-000000000005.log"] });
    await log.acknowledge(7, "r7");
    expect(await log.release()).toEqual({ removedSegments: [] }); // 7 is acked but its segment is being written
    expect((await readdir(dir)).filter((n) => n.startsWith("seg-"))).toEqual(["seg-000000000007.log"]);
    expect(log.firstSeq()).toBe(7);
    await expect(log.read(6)).rejects.toMatchObject({ code: "seq_released" });
    await log.append([8].map(record));
    await log.close();
    const { log: reopened, recovery } = await SegmentLog.open(dir, { segmentBytes: 120 });
    expect([recovery.firstSeq, recovery.lastSeq, recovery.ackedSeq]).toEqual([7, 8, 7]);
    expect((await reopened.read(7)).map((e) => text(e.payload))).toEqual([text(record(7)), text(record(8))]);
    await reopened.close();
  });

  it("appends from concurrent callers are serialized into contiguous seqs", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir, { segmentBytes: 300 });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => log.append([record(i), record(i)])));
    expect(results.map((r) => r.firstSeq)).toEqual(Array.from({ length: 20 }, (_, i) => 2 * i + 1));
    expect((await log.read(1, { maxCount: 100 })).map((e) => e.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect((await log.verify()).ok).toBe(true);
    await log.close();
  });

  it("one live owner per directory: a second open is log_locked; a dead owner's lock is taken over", async () => {
    const dir = await tempDir();
    const { log } = await SegmentLog.open(dir);
    await expect(SegmentLog.open(dir)).rejects.toMatchObject({ code: "log_locked" });
    await log.close();
    await log.close(); // closing twice is harmless
    await expect(log.append([bytes("late")])).rejects.toMatchObject({ code: "log_closed" });
    // 2^22 + 1 is above Linux's pid_max ceiling, so no process can hold it.
    await writeFile(join(dir, "LOCK"), "4194305\n");
    const { log: again, recovery } = await SegmentLog.open(dir);
    expect(recovery.staleLockOwner).toBe(4194305);
    expect((await readFile(join(dir, "LOCK"), "utf8")).trim()).toBe(String(process.pid));
    await again.close();
    expect(await readdir(dir)).not.toContain("LOCK");
  });
});
