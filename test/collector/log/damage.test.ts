// Byte-level damage and its documented outcome (collector/log/FORMAT.md "Recovery"): only a torn
// final frame of the last segment is dropped; everything else is `log_corrupt` with the segment
// and offset, and open changes no byte.
import { cp, mkdtemp, readFile, readdir, rename, rm, truncate, writeFile, appendFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (payload: Uint8Array) => new TextDecoder().decode(payload);
/** 40 payload bytes, so each frame is 60 bytes and a 180-byte segment holds 3 of them. */
const record = (seq: number) => bytes(`{"kind":"usage","seq":${String(seq).padStart(17, "0")}}`);
const SEGMENT_BYTES = 180;
const LAST = "seg-000000000007.log"; // holds seq 7 at offset 0 and seq 8 at offset 60
const MIDDLE = "seg-000000000004.log"; // seqs 4, 5, 6
const MIDDLE_INDEX = "seg-000000000004.idx";

let root: string;
let pristine: string;
let n = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-log-damage-"));
  pristine = join(root, "pristine");
  const { log } = await SegmentLog.open(pristine, { segmentBytes: SEGMENT_BYTES });
  await log.append([1, 2, 3, 4, 5, 6, 7, 8].map(record));
  await log.close();
});
afterAll(() => rm(root, { recursive: true, force: true }));

async function copy(): Promise<string> {
  const dir = join(root, `case-${n++}`);
  await cp(pristine, dir, { recursive: true });
  return dir;
}
async function damage(dir: string, segment: string, offset: number, mask = 0x01): Promise<void> {
  const file = await readFile(join(dir, segment));
  file[offset]! ^= mask;
  await writeFile(join(dir, segment), file);
}
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(join(dir, name))).toString("hex");
  return out;
}
/** Opens a damaged copy expecting log_corrupt at (segment, offset); asserts no byte changed. */
async function expectCorrupt(dir: string, segment: string, offset: number, message: RegExp): Promise<void> {
  const before = await snapshot(dir);
  const error = await SegmentLog.open(dir, { segmentBytes: SEGMENT_BYTES }).then(() => null, (e: unknown) => e);
  expect(error).toMatchObject({ code: "log_corrupt", segment, offset });
  expect((error as Error).message).toMatch(message);
  expect(await snapshot(dir)).toEqual(before);
}
async function openAndReadAll(dir: string) {
  const { log, recovery } = await SegmentLog.open(dir, { segmentBytes: SEGMENT_BYTES });
  const entries = await log.read(1, { maxCount: 100 });
  await log.close();
  return { recovery, seqs: entries.map((e) => e.seq), intact: entries.every((e) => text(e.payload) === text(record(e.seq))) };
}

describe("torn tail: dropped by truncation, and reported", () => {
  it("truncating the last segment at every byte inside its final frame drops just that frame", async () => {
    for (let cut = 61; cut < 120; cut++) {
      const dir = await copy();
      await truncate(join(dir, LAST), cut);
      const { recovery, seqs, intact } = await openAndReadAll(dir);
      expect(recovery.droppedTail).toEqual({ segment: LAST, offset: 60, bytes: cut - 60, reason: cut - 60 < 20 ? "incomplete_header" : "incomplete_payload" });
      expect([recovery.lastSeq, seqs, intact]).toEqual([7, [1, 2, 3, 4, 5, 6, 7], true]);
      expect((await readFile(join(dir, LAST))).length).toBe(60);
      await rm(dir, { recursive: true });
    }
  });

  it("after a dropped tail the next append reuses the dropped seq", async () => {
    const dir = await copy();
    await truncate(join(dir, LAST), 100);
    const { log } = await SegmentLog.open(dir, { segmentBytes: SEGMENT_BYTES });
    expect(await log.append([bytes("again")])).toEqual({ firstSeq: 8, lastSeq: 8 });
    expect(text((await log.read(8))[0]!.payload)).toBe("again");
    await log.close();
  });

  it("a bit flip anywhere in the final frame's payload drops it as damaged_final_frame", async () => {
    for (let at = 80; at < 120; at++) {
      const dir = await copy();
      await damage(dir, LAST, at, 1 << at % 8);
      const { recovery, seqs, intact } = await openAndReadAll(dir);
      expect(recovery.droppedTail).toEqual({ segment: LAST, offset: 60, bytes: 60, reason: "damaged_final_frame" });
      expect([seqs, intact]).toEqual([[1, 2, 3, 4, 5, 6, 7], true]);
      await rm(dir, { recursive: true });
    }
  });

  it("a bit flip in the final frame's header drops it, unless it hits the length field (then the frame no longer ends at EOF)", async () => {
    for (let at = 60; at < 80; at++) {
      const dir = await copy();
      await damage(dir, LAST, at, 0x10);
      if (at >= 64 && at < 68) {
        await expectCorrupt(dir, LAST, 60, /frame header CRC mismatch/);
      } else {
        const { recovery, seqs } = await openAndReadAll(dir);
        expect([recovery.droppedTail?.reason, seqs.length]).toEqual(["damaged_final_frame", 7]);
      }
      await rm(dir, { recursive: true });
    }
  });

  it("fewer than 20 stray bytes after the last frame are an incomplete header; a zero-filled tail of any size is dropped", async () => {
    const short = await copy();
    await appendFile(join(short, LAST), bytes("garbage!!"));
    expect((await openAndReadAll(short)).recovery.droppedTail).toEqual({ segment: LAST, offset: 120, bytes: 9, reason: "incomplete_header" });
    const zeros = await copy();
    await appendFile(join(zeros, LAST), new Uint8Array(4096));
    const { recovery, seqs } = await openAndReadAll(zeros);
    expect([recovery.droppedTail, seqs.length]).toEqual([{ segment: LAST, offset: 120, bytes: 4096, reason: "zero_fill" }, 8]);
  });
});

describe("damage that is not a torn tail: log_corrupt, nothing truncated", () => {
  it("a bit flip in a frame that is followed by another frame, in the last segment or an earlier one without its index", async () => {
    const inLast = await copy();
    await damage(inLast, LAST, 30);
    await expectCorrupt(inLast, LAST, 0, /payload CRC mismatch/);
    // A sealed segment without an index file (a log written before indexes, or one lost in a
    // power cut) is read whole at open, as the last one is.
    const inMiddle = await copy();
    await rm(join(inMiddle, MIDDLE_INDEX));
    await damage(inMiddle, MIDDLE, 70);
    await expectCorrupt(inMiddle, MIDDLE, 60, /frame header CRC mismatch/);
    const finalOfMiddle = await copy(); // the last frame of a segment that is not the last segment
    await rm(join(finalOfMiddle, MIDDLE_INDEX));
    await damage(finalOfMiddle, MIDDLE, 150);
    await expectCorrupt(finalOfMiddle, MIDDLE, 120, /payload CRC mismatch/);
  });

  it("a bit flip inside an indexed sealed segment: open trusts the index, read refuses the frame, verify reports it", async () => {
    const dir = await copy();
    await damage(dir, MIDDLE, 100);
    const { log, recovery } = await SegmentLog.open(dir, { segmentBytes: SEGMENT_BYTES });
    expect(recovery).toMatchObject({ droppedTail: null, lastSeq: 8 });
    await expect(log.read(4)).rejects.toMatchObject({ code: "log_corrupt", segment: MIDDLE, offset: 60 });
    expect(await log.verify()).toMatchObject({ ok: false, damage: { code: "log_corrupt", segment: MIDDLE, offset: 60 } });
    await log.close();
  });

  it("an index that disagrees with its segment (torn, stale size, wrong frame) is ignored and the segment read whole", async () => {
    const torn = await copy();
    const index = await readFile(join(torn, MIDDLE_INDEX));
    await writeFile(join(torn, MIDDLE_INDEX), index.subarray(0, index.length - 5));
    await damage(torn, MIDDLE, 70);
    await expectCorrupt(torn, MIDDLE, 60, /frame header CRC mismatch/);
    const grown = await copy(); // the index says 180 bytes; the file has 20 more
    await appendFile(join(grown, MIDDLE), new Uint8Array(20).fill(7));
    await expectCorrupt(grown, MIDDLE, 180, /frame header CRC mismatch/);
    const swapped = await copy(); // an index copied from another segment
    await writeFile(join(swapped, MIDDLE_INDEX), (await readFile(join(swapped, "seg-000000000001.idx"))).toString().replace('"first_seq":1', '"first_seq":4'));
    expect(await openAndReadAll(swapped)).toMatchObject({ seqs: [1, 2, 3, 4, 5, 6, 7, 8], intact: true });
  });

  it("garbage of 20 bytes or more after the last valid frame", async () => {
    const dir = await copy();
    await appendFile(join(dir, LAST), bytes("this is not a frame, it is text"));
    await expectCorrupt(dir, LAST, 120, /frame header CRC mismatch/);
  });

  it("a truncated segment that is not the last: inside a frame, or at a frame boundary (a numbering gap)", async () => {
    const inside = await copy();
    await truncate(join(inside, MIDDLE), 100);
    await expectCorrupt(inside, MIDDLE, 60, /runs past the end of the file, in a segment that is not the last/);
    const boundary = await copy();
    await truncate(join(boundary, MIDDLE), 120);
    await expectCorrupt(boundary, LAST, 0, /seqs 6…6 are missing/);
  });

  it("a deleted middle segment, a deleted unacked first segment, renamed segments", async () => {
    const middle = await copy();
    await rm(join(middle, MIDDLE));
    await expectCorrupt(middle, LAST, 0, /seqs 4…6 are missing/);
    const first = await copy();
    await rm(join(first, "seg-000000000001.log"));
    await expectCorrupt(first, MIDDLE, 0, /seqs 1…3 were never acked: a segment is missing/);
    const renamed = await copy();
    await rename(join(renamed, LAST), join(renamed, "seg-000000000009.log"));
    await expectCorrupt(renamed, "seg-000000000009.log", 0, /seqs 7…8 are missing/);
    const shortName = await copy();
    await rename(join(shortName, LAST), join(shortName, "seg-7.log"));
    await expectCorrupt(shortName, "seg-7.log", 0, /not a segment name/);
  });

  it("a frame moved into another segment's place (its seq disagrees with the file name)", async () => {
    const dir = await copy();
    const middle = await readFile(join(dir, MIDDLE));
    const last = await readFile(join(dir, LAST));
    await writeFile(join(dir, LAST), Buffer.concat([last.subarray(0, 60), middle.subarray(0, 60)]));
    await expectCorrupt(dir, LAST, 60, /frame holds seq 4, expected 8/);
  });

  it("a cursor acking more than the log holds", async () => {
    const dir = await copy();
    await writeFile(join(dir, "cursor.json"), JSON.stringify({ format: "tally-log-cursor/v1", acked_seq: 9, receipt: null }));
    await expectCorrupt(dir, "cursor.json", 0, /acks seq 9 but the log ends at seq 8/);
  });

  it("damage made while the log is open: verify reports it and read refuses the frame", async () => {
    const dir = await copy();
    const { log } = await SegmentLog.open(dir, { segmentBytes: SEGMENT_BYTES });
    expect((await log.verify()).ok).toBe(true);
    await damage(dir, MIDDLE, 100);
    const report = await log.verify();
    expect([report.ok, report.damage]).toEqual([false, { code: "log_corrupt", segment: MIDDLE, offset: 60, message: `${MIDDLE} at byte 60: payload CRC mismatch` }]);
    await expect(log.read(4)).rejects.toMatchObject({ code: "log_corrupt", segment: MIDDLE, offset: 60 });
    expect((await log.read(1, { maxCount: 4 })).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    await log.close();
  });
});
