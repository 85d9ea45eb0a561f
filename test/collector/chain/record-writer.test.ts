// RecordWriter: records get contiguous seqs, each prev is the hash of the record before, and the
// chain continues across a reopen of the log (the head is recovered from the last entry).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hashCanonical, initialChainState, parseStrictJson, signBatch, verifyBatch, generateKeyPair, ZERO_HASH, type ChainRecord, type RecordBody } from "../../../shared/protocol/index.ts";
import { payloadsOf, RecordWriter } from "../../../collector/chain/record-writer.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

const COLLECTOR = "col_writer_test";
const usage = (n: number): RecordBody => ({
  kind: "usage",
  data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: `u${n}`, host: "h", session: `s${n}`, start: 1_700_000_000_000 + n * 1000, end: 1_700_000_060_000 + n * 1000, count: 1, final: true },
});

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "tally-writer-")); });
afterEach(() => rm(dir, { recursive: true, force: true }));

async function readAll(log: SegmentLog): Promise<ChainRecord[]> {
  const entries = await log.read(1, { maxCount: 10_000 });
  return entries.map((e) => parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord);
}

describe("RecordWriter", () => {
  it("numbers records from 1 with prev = hash of the record before (64 zeros first) and ts from its clock", async () => {
    const { log } = await SegmentLog.open(join(dir, "log"));
    const writer = await RecordWriter.open(log, COLLECTOR, () => 1_764_280_000_000);
    const appended = await writer.append([usage(1), usage(2), usage(3)]);
    const stored = await readAll(log);
    await log.close();

    expect(stored).toEqual(appended);
    expect(stored.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(stored[0]!.prev).toBe(ZERO_HASH);
    expect(stored[1]!.prev).toBe(hashCanonical(stored[0]));
    expect(stored[2]!.prev).toBe(hashCanonical(stored[1]));
    expect(stored.every((r) => r.ts === 1_764_280_000_000 && r.collector_id === COLLECTOR && r.v === 1)).toBe(true);
    expect(writer.head()).toEqual({ seq: 3, hash: hashCanonical(stored[2]) });
  });

  it("prepares the same bytes and hashes whether or not it keeps the records (the journal's path keeps none)", async () => {
    const { log } = await SegmentLog.open(join(dir, "log"));
    const writer = await RecordWriter.open(log, COLLECTOR, () => 1_764_280_000_000);
    const bodies: RecordBody[] = [usage(1), { kind: "denial", data: { source: "flexlm", daemon: "MLM", feature: "X", user: "ü", host: "h", at: 1_700_000_000_000, reason: "limit" } }, { kind: "heartbeat", data: { sources: [{ source: "flexlm", up: true, at: 1 }] } }];
    const kept: ChainRecord[] = [];
    const withRecords = writer.prepare(bodies, writer.head(), kept);
    const without = writer.prepare(bodies);
    expect(Buffer.concat(without.frames).equals(Buffer.concat(withRecords.frames))).toBe(true);
    expect(payloadsOf(without).map((p) => JSON.parse(Buffer.from(p).toString("utf8")))).toEqual(kept);
    expect(without.after).toEqual({ seq: 3, hash: hashCanonical(kept[2]) });
    await writer.commit(without);
    expect(await readAll(log)).toEqual(kept);
    await log.close();
  });

  it("continues the chain after the log is closed and reopened, and the edge's verifier accepts the whole chain", async () => {
    const first = await SegmentLog.open(join(dir, "log"), { segmentBytes: 600 });
    await (await RecordWriter.open(first.log, COLLECTOR)).append([usage(1), usage(2), usage(3)]);
    await first.log.close();

    const second = await SegmentLog.open(join(dir, "log"), { segmentBytes: 600 });
    const writer = await RecordWriter.open(second.log, COLLECTOR);
    expect(writer.head().seq).toBe(3);
    await writer.append([usage(4)]);
    await writer.append([usage(5), usage(6)]);
    const stored = await readAll(second.log);
    await second.log.close();

    expect(stored.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    for (let i = 1; i < stored.length; i++) expect(stored[i]!.prev).toBe(hashCanonical(stored[i - 1]));
    const key = generateKeyPair();
    const verdict = verifyBatch(initialChainState(COLLECTOR, key.publicKey), signBatch(stored, 1, key.secretKey), () => undefined);
    expect(verdict.ok).toBe(true);
  });

  it("refuses to continue a log that belongs to another collector", async () => {
    const { log } = await SegmentLog.open(join(dir, "log"));
    await (await RecordWriter.open(log, "col_someone_else")).append([usage(1)]);
    await expect(RecordWriter.open(log, COLLECTOR)).rejects.toMatchObject({ code: "bad_state" });
    await log.close();
  });
});

describe("RecordWriter's record size limit", () => {
  /** A usage body whose record is exactly `bytes` canonical bytes (padding in an unknown data field). */
  function sized(bytes: number, seq: number): RecordBody {
    const base = usage(seq);
    const probe = { v: 1, collector_id: COLLECTOR, seq, prev: ZERO_HASH, ts: 1_764_280_000_000, ...base, data: { ...base.data, pad: "" } };
    const fixed = new TextEncoder().encode(JSON.stringify(probe)).length; // ASCII only: JSON.stringify = canonical size here
    return { ...base, data: { ...base.data, pad: "x".repeat(bytes - fixed) } } as RecordBody;
  }

  it("a record of exactly 64 KiB is written; one byte more is refused and nothing of the call is appended", async () => {
    const { log } = await SegmentLog.open(join(dir, "log"));
    const writer = await RecordWriter.open(log, COLLECTOR, () => 1_764_280_000_000);
    const [fits] = await writer.append([sized(65_536, 1)]);
    expect(new TextEncoder().encode(JSON.stringify(fits)).length).toBe(65_536);
    const refused = writer.append([usage(2), sized(65_537, 3)]);
    await expect(refused).rejects.toMatchObject({ code: "bad_input", details: { reason: "record_too_large", record_bytes: 65_537, limit: 65_536 } });
    expect((await readAll(log)).map((r) => r.seq)).toEqual([1]);
    expect(writer.head().seq).toBe(1);
    await log.close();
  });
});
