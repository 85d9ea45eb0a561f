// Frames built by the caller (frame.ts sealFrame, what the record writer does) and appended as they
// are (SegmentLog.appendFrames): the same frames, files and indexes as `append` of the payloads,
// and a run that is not entries lastSeq()+1 … in order is refused before anything is written.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { HEADER_BYTES, crc32c, decodeHeader, frameLength, frameSeq, payloadOk, sealFrame } from "../../../collector/log/frame.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tally-frames-"));
  dirs.push(dir);
  return dir;
}

/** The payloads framed one after the other as entries firstSeq …, in place (as the record writer does). */
function framed(payloads: Uint8Array[], firstSeq: number): Uint8Array {
  const out = new Uint8Array(payloads.reduce((n, p) => n + HEADER_BYTES + p.length, 0));
  let at = 0;
  payloads.forEach((p, i) => {
    out.set(p, at + HEADER_BYTES);
    at = sealFrame(out, at, firstSeq + i, p.length);
  });
  return out;
}

async function files(dir: string): Promise<Map<string, Buffer>> {
  const names = (await readdir(dir)).filter((n) => n.startsWith("seg-")).sort();
  return new Map(await Promise.all(names.map(async (n) => [n, await readFile(join(dir, n))] as const)));
}

const payload = (seq: number, size: number) => new TextEncoder().encode(`{"seq":${seq},"pad":"${"x".repeat(size)}"}`);

describe("frames sealed in place", () => {
  it("have the documented header (both CRCs, length, seq up to 2^53) whatever the payload and seq", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.nat(7), (bytes, seq, offset) => {
      const out = new Uint8Array(offset + HEADER_BYTES + bytes.length + 3);
      out.set(bytes, offset + HEADER_BYTES);
      expect(sealFrame(out, offset, seq, bytes.length)).toBe(offset + HEADER_BYTES + bytes.length);
      const view = new DataView(out.buffer, offset);
      expect(view.getUint32(0, true)).toBe(crc32c(out.subarray(offset + 4, offset + HEADER_BYTES)));
      expect(view.getUint32(16, true)).toBe(crc32c(bytes));
      expect(view.getUint32(8, true) + view.getUint32(12, true) * 2 ** 32).toBe(seq);
      const header = decodeHeader(out, offset);
      expect(header).toMatchObject({ headerOk: true, length: bytes.length, seq });
      expect(payloadOk(out, offset, header)).toBe(true);
      expect([frameLength(out, offset), frameSeq(out, offset)]).toEqual([bytes.length, seq]);
    }), { numRuns: 500 });
  });
});

describe("appendFrames", () => {
  it("writes the same segments and indexes as append of the payloads, across segment rolls and runs of any split", async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.nat(120), { minLength: 1, maxLength: 150 }), fc.array(fc.nat(40), { maxLength: 5 }), fc.integer({ min: 60, max: 900 }), async (sizes, cuts, segmentBytes) => {
      const root = await tempDir();
      const first = await SegmentLog.open(join(root, "a"), { segmentBytes });
      const second = await SegmentLog.open(join(root, "b"), { segmentBytes });
      // Two batches each, so the second starts inside a partly filled segment.
      const half = Math.floor(sizes.length / 2);
      for (const [from, to] of [[0, half], [half, sizes.length]] as const) {
        const payloads = sizes.slice(from, to).map((s, i) => payload(from + i + 1, s));
        const whole = framed(payloads, from + 1);
        // The frames split into runs at frame boundaries, as the journal's staged pieces are.
        const ends = [0];
        for (let at = 0; at < whole.length; ) ends.push((at += HEADER_BYTES + frameLength(whole, at)));
        const at = [...new Set([0, ...cuts.map((c) => ends[c % ends.length]!), whole.length])].sort((x, y) => x - y);
        const runs = at.slice(1).map((end, i) => whole.subarray(at[i]!, end));
        expect(await first.log.append(payloads)).toEqual(await second.log.appendFrames(runs));
      }
      expect(second.log.lastSeq()).toBe(sizes.length);
      await first.log.close();
      await second.log.close();
      expect(await files(join(root, "b"))).toEqual(await files(join(root, "a")));
      const reopened = await SegmentLog.open(join(root, "b"), { segmentBytes });
      expect((await reopened.log.verify()).ok).toBe(true);
      expect((await reopened.log.read(1, { maxCount: 1000, maxBytes: 1e9 })).map((e) => e.seq)).toEqual(sizes.map((_, i) => i + 1));
      await reopened.log.close();
    }), { numRuns: 25 });
  });

  it("refuses frames that are not the next entries, or not whole frames, and writes nothing", async () => {
    const dir = join(await tempDir(), "log");
    const { log } = await SegmentLog.open(dir);
    await log.append([payload(1, 3)]);
    const before = await files(dir);
    const next = framed([payload(2, 3), payload(3, 3)], 2);
    const refusals: Array<[Uint8Array[], string]> = [
      [[framed([payload(3, 3)], 3)], "invalid_argument"], // a gap
      [[framed([payload(1, 3)], 1)], "invalid_argument"], // an entry again
      [[next.subarray(0, HEADER_BYTES + 5)], "invalid_argument"], // a cut payload
      [[next, next.subarray(0, 10)], "invalid_argument"], // a cut header
      [[next.subarray(HEADER_BYTES + frameLength(next, 0))], "invalid_argument"], // seq 3 first
    ];
    const tooLong = framed([payload(2, 3)], 2);
    new DataView(tooLong.buffer).setUint32(4, 4 * 1024 * 1024 + 1, true);
    refusals.push([[tooLong], "payload_too_large"]);
    for (const [runs, code] of refusals) await expect(log.appendFrames(runs)).rejects.toMatchObject({ code });
    expect(log.lastSeq()).toBe(1);
    expect(await log.appendFrames([])).toEqual({ firstSeq: 2, lastSeq: 1 });
    await log.close();
    expect(await files(dir)).toEqual(before);
  });
});
