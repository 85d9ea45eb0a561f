// A receipt is stored only when it is signed by a known edge key, for this collector, never
// backwards, covering the batch sent, and naming as head our own record's hash.
import { describe, expect, it } from "vitest";
import { generateKeyPair, keyIdOf, sha256Hex, signReceipt, type Receipt } from "../../../shared/protocol/index.ts";
import { checkReceipt, type ReceiptExpectation } from "../../../collector/sync/receipt-check.ts";

const edge = generateKeyPair();
const keyId = keyIdOf(edge.publicKey);
const keys = [{ key_id: keyId, public_key: edge.publicKey }];
const COLLECTOR = "col_receipts";
const hashOf = (seq: number) => sha256Hex(new TextEncoder().encode(`record ${seq}`));
const hashAt = async (seq: number) => (seq >= 1 && seq <= 30 ? hashOf(seq) : undefined);
const expect20: ReceiptExpectation = { collectorId: COLLECTOR, ackedSeq: 10, sentThrough: 20, lastSeq: 30 };

function signed(over: Partial<Receipt> = {}, secret = edge.secretKey) {
  const receipt: Receipt = { collector_id: COLLECTOR, acked_seq: 20, head: hashOf(20), received_at: 1_764_280_000_000, key_id: keyId, ...over };
  return { receipt, signature: signReceipt(receipt, secret) };
}

describe("checkReceipt", () => {
  it("accepts a receipt for the batch's last record with our head, signed by a known edge key", async () => {
    const r = signed();
    expect(await checkReceipt(r, expect20, keys, hashAt)).toEqual({ ok: true, receipt: r.receipt, signature: r.signature });
  });

  it("accepts a receipt beyond the batch (a replay answered with the edge's hwm) when the head is ours", async () => {
    expect((await checkReceipt(signed({ acked_seq: 25, head: hashOf(25) }), expect20, keys, hashAt)).ok).toBe(true);
  });

  it.each([
    ["receipt_backwards", { acked_seq: 9, head: hashOf(9) }],
    ["receipt_head_mismatch", { head: hashOf(19) }],
    ["receipt_incomplete", { acked_seq: 15, head: hashOf(15) }],
    ["receipt_beyond_log", { acked_seq: 31, head: hashOf(20) }],
    ["receipt_collector_mismatch", { collector_id: "col_other" }],
    ["unknown_key", { key_id: "edk_0000000000000000" }],
  ] as const)("refuses with %s", async (code, over) => {
    expect(await checkReceipt(signed(over), expect20, keys, hashAt)).toMatchObject({ ok: false, code });
  });

  it("refuses a receipt signed by another key under a known key_id", async () => {
    const forged = signed({}, generateKeyPair().secretKey);
    expect(await checkReceipt(forged, expect20, keys, hashAt)).toMatchObject({ ok: false, code: "bad_receipt_signature" });
  });

  it("refuses a receipt whose fields were changed after signing", async () => {
    const r = signed();
    const tampered = { ...r, receipt: { ...r.receipt, received_at: r.receipt.received_at + 1 } };
    expect(await checkReceipt(tampered, expect20, keys, hashAt)).toMatchObject({ ok: false, code: "bad_receipt_signature" });
  });

  it("refuses a body that is not a signed receipt", async () => {
    expect(await checkReceipt({ receipt: { acked_seq: 20 } }, expect20, keys, hashAt)).toMatchObject({ ok: false, code: "malformed_receipt" });
  });
});
