// Two refusals of POST /v1/collectors/:id/batches (DESIGN.md §4): a batch past hwm+1 is a `gap`
// before its signature is judged (docs/decisions.md), and a record over 64 KiB of
// canonical bytes is a 413 `record_too_large` (never a 500). Both change nothing in the DO or D1.
import { describe, it, expect } from "vitest";
import { generateKeyPair, nextRecord, hashCanonical, type ChainRecord } from "../../shared/protocol/index.ts";
import { d1State, doState, enrolledSite, NOW, ok, postBatch, settle, type Site } from "./edge-fixture.ts";

async function refusedWithoutChange(site: Site, send: () => Promise<Response>, status: number, code: string): Promise<any> {
  await settle(site.contractId);
  const before = [await doState(site.contractId), await d1State(site.contractId)];
  const res = await send();
  const body = await res.json() as any;
  expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
  expect([await doState(site.contractId), await d1State(site.contractId)]).toEqual(before);
  return body;
}

/** Appends a heartbeat record of exactly `bytes` canonical bytes (padding in an unknown data field). */
function appendSized(site: Site, bytes: number): ChainRecord {
  const last = site.chain.records[site.chain.records.length - 1]!;
  const head = { seq: last.seq, hash: hashCanonical(last) };
  const probe = nextRecord(site.collectorId, head, NOW, { kind: "heartbeat", data: { sources: [], pad: "" } } as never);
  const pad = "x".repeat(bytes - new TextEncoder().encode(JSON.stringify(probe)).length);
  return site.chain.append({ kind: "heartbeat", data: { sources: [], pad } } as never, NOW);
}

describe("batch checks", () => {
  it("a batch past hwm+1 is 409 gap with expected_seq whoever signed it; once the gap is filled, a forged one is 401 bad_signature", async () => {
    const site = await enrolledSite();
    site.chain.usage(); site.chain.usage(); site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const forger = generateKeyPair().secretKey;
    const forged = await refusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3, forger)), 409, "gap");
    expect(forged.expected_seq).toBe(2);
    const genuine = await refusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3)), 409, "gap");
    expect(genuine.expected_seq).toBe(2);
    await ok(await postBatch(site.collectorId, site.chain.batch(2, 2)));
    const filled = await refusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3, forger)), 401, "bad_signature");
    expect(filled.expected_seq).toBeUndefined();
  });

  it("a record over 64 KiB is 413 record_too_large with its seq; one of exactly 64 KiB is receipted", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    appendSized(site, 65_536);
    expect((await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)))).receipt.acked_seq).toBe(2);
    site.chain.usage();
    appendSized(site, 65_537);
    const body = await refusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 4)), 413, "record_too_large");
    expect(body.seq).toBe(4);
  });
});
