// Batches: at most 5,000 records and at most 1 MiB of uncompressed body, exactly; the encoded
// body is what the edge's own verifier accepts.
import { describe, expect, it } from "vitest";
import { canonicalBytes, generateKeyPair, initialChainState, nextRecord, sha256Hex, verifyBatch, ZERO_HASH, type ChainHead } from "../../../shared/protocol/index.ts";
import { bodyOverhead, encodeBatch, fitBatch, SYNC_BATCH_BYTES, SYNC_BATCH_RECORDS, type PendingRecord } from "../../../collector/sync/batcher.ts";

const COLLECTOR = "col_batcher";
const TS = 1_764_280_000_000;

/** A real chain of heartbeat records; `pad` grows record i's bytes one for one (none: ~180 bytes each). */
function chain(n: number, pad?: (i: number) => number): PendingRecord[] {
  let head: ChainHead = { seq: 0, hash: ZERO_HASH };
  const out: PendingRecord[] = [];
  for (let i = 0; i < n; i++) {
    const record = nextRecord(COLLECTOR, head, TS, { kind: "heartbeat", data: { sources: pad ? [{ source: "x".repeat(1 + pad(i)), up: true, at: TS }] : [] } });
    const payload = canonicalBytes(record);
    out.push({ seq: record.seq, payload });
    head = { seq: record.seq, hash: sha256Hex(payload) };
  }
  return out;
}

const bodySize = (records: PendingRecord[]) =>
  bodyOverhead(COLLECTOR, records[records.length - 1]!.seq, TS) + records.reduce((s, r) => s + r.payload.length, 0) + records.length - 1;

describe("fitBatch", () => {
  it("takes exactly 5,000 records when 5,001 are pending", () => {
    const pending = chain(5001);
    expect(bodySize(pending)).toBeLessThan(SYNC_BATCH_BYTES); // so only the count limit applies
    expect(SYNC_BATCH_RECORDS).toBe(5000);
    expect(fitBatch(pending, COLLECTOR, TS)).toBe(5000);
    expect(fitBatch(pending.slice(5000), COLLECTOR, TS)).toBe(1);
  });

  it("takes records whose body is exactly 1 MiB, and leaves one out when the body would be 1 byte over", () => {
    expect(SYNC_BATCH_BYTES).toBe(1_048_576);
    // 3 big records; size the last so that the whole body is exactly 1 MiB.
    const base = chain(3, (i) => (i < 2 ? 300_000 : 0));
    const missing = SYNC_BATCH_BYTES - bodySize(base);
    const exact = chain(3, (i) => (i < 2 ? 300_000 : missing));
    expect(bodySize(exact)).toBe(SYNC_BATCH_BYTES);
    expect(fitBatch(exact, COLLECTOR, TS)).toBe(3);
    expect(encodeBatch(exact, COLLECTOR, TS, generateKeyPair().secretKey).body.length).toBe(SYNC_BATCH_BYTES);

    const over = chain(3, (i) => (i < 2 ? 300_000 : missing + 1));
    expect(bodySize(over)).toBe(SYNC_BATCH_BYTES + 1);
    expect(fitBatch(over, COLLECTOR, TS)).toBe(2);
  });

  it("always takes at least one record, even one larger than the site limit", () => {
    const huge = chain(2, (i) => (i === 0 ? SYNC_BATCH_BYTES : 0));
    expect(fitBatch(huge, COLLECTOR, TS)).toBe(1);
  });
});

describe("encodeBatch", () => {
  it("makes a body of the stored bytes with one checkpoint over the last record, which the edge's verifier accepts", () => {
    const key = generateKeyPair();
    const records = chain(25);
    const batch = encodeBatch(records, COLLECTOR, TS, key.secretKey);
    expect(batch.body.length).toBe(bodySize(records));
    const body = JSON.parse(new TextDecoder().decode(batch.body));
    expect(body.checkpoint).toEqual({ collector_id: COLLECTOR, seq: 25, head: sha256Hex(records[24]!.payload), ts: TS });
    const verdict = verifyBatch(initialChainState(COLLECTOR, key.publicKey), body, () => undefined);
    expect(verdict.ok && verdict.state.hwm).toBe(25);
  });
});
