// Two refusals of POST /v1/collectors/:id/batches (DESIGN.md §4): the checkpoint signature is
// checked before a `gap` answer reveals the chain's expected seq, and a record over 64 KiB of
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
  it("a batch past the hwm that the collector did not sign is 401 bad_signature and learns no expected_seq", async () => {
    const site = await enrolledSite();
    site.chain.usage(); site.chain.usage(); site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const forged = await refusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3, generateKeyPair().secretKey)), 401, "bad_signature");
    expect(forged.expected_seq).toBeUndefined();
    const genuine = await refusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3)), 409, "gap");
    expect(genuine.expected_seq).toBe(2);
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
