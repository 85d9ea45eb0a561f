// Air-gapped bundles (DESIGN.md §4): batches applied in order, each atomically, stopping at the
// first refusal with the receipts before it standing; the vendor may upload on a site's behalf.
import { describe, it, expect } from "vitest";
import { gzipSync } from "node:zlib";
import { generateKeyPair, hashCanonical, verifyReceipt, type Batch } from "../../shared/protocol/index.ts";
import { call, createContract, d1State, doState, enrolledSite, NOW, ok, settle, type Site } from "./edge-fixture.ts";

function bundleOf(site: Site, batches: Batch[]) {
  return { format: "tally-bundle/v1", collector_id: site.collectorId, batches };
}

function postBundle(site: Site, bundle: unknown, options: { gzip?: boolean; now?: number } = {}): Promise<Response> {
  const json = JSON.stringify(bundle);
  return options.gzip
    ? call("POST", `/v1/collectors/${site.collectorId}/bundles`, { raw: gzipSync(json), headers: { "Content-Type": "application/json", "Content-Encoding": "gzip" }, ...(options.now ? { now: options.now } : {}) })
    : call("POST", `/v1/collectors/${site.collectorId}/bundles`, { body: bundle, ...(options.now ? { now: options.now } : {}) });
}

async function balanceOf(site: Site): Promise<any> {
  return ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
}

describe("bundles", () => {
  it("a gzip bundle's batches are applied in order, each answered by a receipt that verifies", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 5; i++) site.chain.usage();
    const res = await ok(await postBundle(site, bundleOf(site, [site.chain.batch(1, 2), site.chain.batch(3, 4), site.chain.batch(5, 5)]), { gzip: true }));
    const { keys } = await ok(await call("GET", "/v1/keys"));
    expect(res.receipts.map((r: any) => [r.receipt.acked_seq, r.receipt.head, r.receipt.received_at])).toEqual(
      [2, 4, 5].map((seq) => [seq, hashCanonical(site.chain.records[seq - 1]), NOW]));
    for (const r of res.receipts) expect(verifyReceipt(r.receipt, r.signature, keys[0].public_key)).toBe(true);
    expect(res.error).toBeUndefined();
    expect((await balanceOf(site)).usage.license_seconds).toBe(5 * 3600);
    await settle(site.contractId);
    expect((await d1State(site.contractId)).records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it("stops at the first refused batch: the receipts before it stand, the status is the refusal's", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 6; i++) site.chain.usage();
    const res = await postBundle(site, bundleOf(site, [site.chain.batch(1, 2), site.chain.batch(4, 5), site.chain.batch(3, 3)]));
    const body = await res.json() as any;
    expect(res.status).toBe(409);
    expect(body.receipts.map((r: any) => r.receipt.acked_seq)).toEqual([2]);
    expect({ error: body.error, batch_index: body.batch_index, expected_seq: body.expected_seq }).toEqual({ error: "gap", batch_index: 1, expected_seq: 3 });
    expect((await balanceOf(site)).collectors[0].acked_seq).toBe(2);
  });

  it("a bundle past a key rotation it has not seen is 409 gap with expected_seq on both routes, nothing applied; in order it is taken, a forged one refused", async () => {
    const site = await enrolledSite();
    const next = generateKeyPair();
    site.chain.usage(); site.chain.usage();
    site.chain.append({ kind: "key_rotation", data: { public_key: next.publicKey } });
    site.chain.usage(); site.chain.usage();
    // Bundle 2 of a trip: signed by the new key, which only bundle 1's rotation record announces.
    const second = bundleOf(site, [site.chain.batch(4, 5, next.secretKey)]);
    await settle(site.contractId);
    const before = [await doState(site.contractId), await d1State(site.contractId)];
    const early = await postBundle(site, second);
    const vendorEarly = await call("POST", `/v1/contracts/${site.contractId}/collectors/${site.collectorId}/bundles`, { body: second, token: site.vendor.api_key });
    for (const res of [early, vendorEarly]) {
      const body = await res.json() as any;
      expect([res.status, body.error, body.expected_seq, body.batch_index, body.receipts]).toEqual([409, "gap", 1, 0, []]);
    }
    expect([await doState(site.contractId), await d1State(site.contractId)]).toEqual(before);

    expect((await ok(await postBundle(site, bundleOf(site, [site.chain.batch(1, 3)])))).receipts.map((r: any) => r.receipt.acked_seq)).toEqual([3]);
    // The gap filled, the edge knows the signer: the same records under another key are refused.
    const forged = await postBundle(site, bundleOf(site, [site.chain.batch(4, 5, generateKeyPair().secretKey)]));
    expect([forged.status, ((await forged.json()) as any).error]).toEqual([401, "bad_signature"]);
    expect((await ok(await postBundle(site, second))).receipts.map((r: any) => r.receipt.acked_seq)).toEqual([5]);
  });

  it("a batch signed by another key stops the bundle with 401 bad_signature and applies nothing of it", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 4; i++) site.chain.usage();
    const res = await postBundle(site, bundleOf(site, [site.chain.batch(1, 2), site.chain.batch(3, 4, generateKeyPair().secretKey)]));
    const body = await res.json() as any;
    expect([res.status, body.error, body.batch_index, body.receipts.length]).toEqual([401, "bad_signature", 1, 1]);
    expect((await balanceOf(site)).usage.license_seconds).toBe(2 * 3600);
  });

  it("uploading the same bundle twice changes nothing and answers the current hwm for every batch", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 3; i++) site.chain.usage();
    const bundle = bundleOf(site, [site.chain.batch(1, 2), site.chain.batch(3, 3)]);
    await ok(await postBundle(site, bundle));
    await settle(site.contractId);
    const before = await doState(site.contractId);
    const again = await ok(await postBundle(site, bundle, { now: NOW + 60_000 }));
    expect(again.receipts.map((r: any) => [r.receipt.acked_seq, r.receipt.received_at])).toEqual([[3, NOW], [3, NOW]]);
    expect(await doState(site.contractId)).toEqual(before);
  });

  it("the envelope is checked first: wrong format 400, another collector's bundle 403, unknown collector 403", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const wrongFormat = await postBundle(site, { ...bundleOf(site, [site.chain.batch(1, 1)]), format: "tally-bundle/v2" });
    expect([wrongFormat.status, ((await wrongFormat.json()) as any).error]).toEqual([400, "malformed"]);
    const other = await enrolledSite(site.vendor);
    const mismatch = await postBundle(other, bundleOf(site, [site.chain.batch(1, 1)]));
    expect([mismatch.status, ((await mismatch.json()) as any).error]).toEqual([403, "collector_mismatch"]);
    const unknown = await call("POST", "/v1/collectors/col_nobody/bundles", { body: { format: "tally-bundle/v1", collector_id: "col_nobody", batches: [] } });
    expect([unknown.status, ((await unknown.json()) as any).error]).toEqual([403, "unknown_collector"]);
    expect((await doState(site.contractId)).records).toEqual([]);
  });

  it("a bundle over 16 MiB after gzip decoding answers 413 bundle_too_large", async () => {
    const site = await enrolledSite();
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024 + 1, 0x20));
    const res = await call("POST", `/v1/collectors/${site.collectorId}/bundles`, { raw: bomb, headers: { "Content-Encoding": "gzip" } });
    expect([res.status, ((await res.json()) as any).error]).toEqual([413, "bundle_too_large"]);
  });

  it("the vendor may upload a site's bundle with its key; another vendor, or another contract's collector, gets 404", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const bundle = bundleOf(site, [site.chain.batch(1, 1)]);
    const stranger = await enrolledSite();
    const foreign = await call("POST", `/v1/contracts/${site.contractId}/collectors/${site.collectorId}/bundles`, { body: bundle, token: stranger.vendor.api_key });
    expect(foreign.status).toBe(404);
    const sameVendorOtherContract = await createContract(site.vendor);
    const wrongContract = await call("POST", `/v1/contracts/${sameVendorOtherContract.id}/collectors/${site.collectorId}/bundles`, { body: bundle, token: site.vendor.api_key });
    expect(wrongContract.status).toBe(404);
    const res = await ok(await call("POST", `/v1/contracts/${site.contractId}/collectors/${site.collectorId}/bundles`, { body: bundle, token: site.vendor.api_key }));
    expect(res.receipts.map((r: any) => r.receipt.acked_seq)).toEqual([1]);
  });
});
