// Batch ingestion (DESIGN.md §4): what the edge accepts, what it refuses with which code, and
// that a refused batch changes nothing (except equivocation evidence).
import { describe, it, expect } from "vitest";
import { gzipSync } from "node:zlib";
import { generateKeyPair, verifyReceipt, canonicalJson, hashCanonical, signBatch, type ChainRecord } from "../../shared/protocol/index.ts";
import { runInDurableObject } from "cloudflare:test";
import { call, contractStub, d1State, doState, enrolledSite, HOUR, NOW, ok, postBatch, settle, type Site } from "./edge-fixture.ts";

const alarmOf = (contractId: string) => runInDurableObject(contractStub(contractId), (_i, state) => state.storage.getAlarm());

async function balanceOf(site: Site) {
  return ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
}

/** Sends `send()` and asserts the answer's status and code, and that neither the DO nor D1 changed,
 *  nor the DO's alarm: a site retrying a refused batch must not wake the drain each time. */
async function expectRefusedWithoutChange(site: Site, send: () => Promise<Response>, status: number, code: string): Promise<any> {
  await settle(site.contractId);
  const before = [await doState(site.contractId), await d1State(site.contractId), await alarmOf(site.contractId)];
  const res = await send();
  const body = await res.json() as any;
  expect({ status: res.status, error: body.error }).toEqual({ status, error: code });
  expect(typeof body.message).toBe("string");
  expect([await doState(site.contractId), await d1State(site.contractId), await alarmOf(site.contractId)]).toEqual(before);
  return body;
}

describe("accepting batches", () => {
  it("a valid batch is receipted with a signature that verifies with the key from /v1/keys", async () => {
    const site = await enrolledSite();
    site.chain.usage({ count: 2 });
    site.chain.usage({ feature: "Simulink" });
    const res = await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    const { keys } = await ok(await call("GET", "/v1/keys"));
    expect(res.receipt).toEqual({ collector_id: site.collectorId, acked_seq: 2, head: hashCanonical(site.chain.records[1]), received_at: NOW, key_id: keys[0].key_id });
    expect(verifyReceipt(res.receipt, res.signature, keys[0].public_key)).toBe(true);
    expect(site.enrollment.edge_public_keys).toEqual(keys);

    const balance = await balanceOf(site);
    // Rated by the plan (MATLAB 1 unit per license-hour, anything else 0.5).
    expect(balance.usage).toEqual({
      units: "2.5", license_seconds: 3 * 3600, billed_license_seconds: 3 * 3600, unrated_features: [],
      by_feature: [
        { feature: "MATLAB", units: "2", draws: 0, license_seconds: 7200, billed_license_seconds: 7200 },
        { feature: "Simulink", units: "0.5", draws: 0, license_seconds: 3600, billed_license_seconds: 3600 },
      ],
    });
    expect(balance.collectors).toEqual([{ collector_id: site.collectorId, site: "plant-7", acked_seq: 2, last_sync: "2026-11-27T10:00:00Z", stale: false, flags: [] }]);
    expect(balance.period).toEqual({ start: "2026-10-31T23:00:00Z", end: "2026-11-30T23:00:00Z", start_date: "2026-11-01" });
  });

  it("a resent batch answers the same receipt and changes nothing", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const batch = site.chain.batch(1, 1);
    const first = await ok(await postBatch(site.collectorId, batch));
    await settle(site.contractId);
    const before = [await doState(site.contractId), await balanceOf(site)];
    const again = await ok(await postBatch(site.collectorId, batch, { now: NOW + 60_000 }));
    expect(again).toEqual(first);
    expect([await doState(site.contractId), await balanceOf(site)]).toEqual(before);
  });

  it("a batch overlapping the hwm applies only the records above it", async () => {
    const site = await enrolledSite();
    site.chain.usage(); site.chain.usage(); site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    const res = await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)));
    expect(res.receipt.acked_seq).toBe(3);
    expect((await balanceOf(site)).usage.license_seconds).toBe(3 * 3600);
  });

  it("a gzip-encoded batch is accepted like the plain one", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const res = await ok(await call("POST", `/v1/collectors/${site.collectorId}/batches`, {
      raw: gzipSync(JSON.stringify(site.chain.batch(1, 1))), headers: { "Content-Encoding": "gzip", "Content-Type": "application/json" },
    }));
    expect(res.receipt.acked_seq).toBe(1);
  });

  it("re-encoded JSON (other key order, whitespace) hashes the same and is accepted", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const batch = site.chain.batch(1, 1);
    const reordered = `{ "signature": "${batch.signature}", "checkpoint": ${canonicalJson(batch.checkpoint)},\n "records": [${JSON.stringify(Object.fromEntries(Object.entries(batch.records[0]!).reverse()))}] }`;
    const res = await ok(await call("POST", `/v1/collectors/${site.collectorId}/batches`, { raw: reordered }));
    expect(res.receipt.acked_seq).toBe(1);
  });

  it("a record the edge cannot rate is receipted, stored quarantined and not counted", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    site.chain.usage({ start: NOW - HOUR, end: NOW - HOUR }); // end ≤ start
    site.chain.usage({ daemon: "adskflex", feature: "ACAD" }); // out of scope
    site.chain.usage({ start: Date.UTC(2026, 9, 1) }); // before the contract start
    site.chain.append({ kind: "mystery", data: { x: 1 } } as never);
    const res = await ok(await postBatch(site.collectorId, site.chain.batch(1, 5)));
    expect(res.receipt.acked_seq).toBe(5);
    const state = await doState(site.contractId);
    expect(state.records.map((r: any) => r.quarantine)).toEqual([
      null, "end is not after start", "out of the contract's scope (adskflex/ACAD)", "usage before the contract start", "unknown kind mystery",
    ]);
    const balance = await balanceOf(site);
    expect(balance.usage.license_seconds).toBe(3600);
    expect(balance.quarantined_records).toBe(4);
  });
});

describe("refusing batches", () => {
  it("a gap answers 409 gap with the expected seq", async () => {
    const site = await enrolledSite();
    site.chain.usage(); site.chain.usage(); site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const body = await expectRefusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3)), 409, "gap");
    expect(body.expected_seq).toBe(2);
  });

  it("a fork keeps both versions as evidence, flags the collector and leaves the balance unchanged", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const balanceBefore = await balanceOf(site);
    await settle(site.contractId);
    const alarmBefore = await alarmOf(site.contractId);
    const fork = new (site.chain.constructor as any)(site.collectorId, site.keys.secretKey);
    fork.usage({ count: 5 });
    const res = await postBatch(site.collectorId, fork.batch(1, 1));
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: "equivocation", seq: 1 });

    const state = await doState(site.contractId);
    expect(state.evidence).toHaveLength(1);
    expect(state.evidence[0]).toMatchObject({ seq: 1, stored_hash: hashCanonical(site.chain.records[0]), received_hash: hashCanonical(fork.records[0]) });
    expect(JSON.parse((state.evidence[0] as any).batch_json)).toEqual(fork.batch(1, 1));
    expect(state.records).toHaveLength(1);
    const balance = await balanceOf(site);
    expect(balance.usage).toEqual(balanceBefore.usage);
    expect(balance.collectors[0].flags).toEqual(["equivocation"]);
    // The evidence's event and the flag's projection are work for the drain: the refusal arms it.
    const alarm = await alarmOf(site.contractId);
    expect(alarm).not.toBeNull();
    if (alarmBefore !== null) expect(alarm!).toBeLessThan(alarmBefore);
  });

  it("a checkpoint signed by another key answers 401 bad_signature", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await expectRefusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(1, 1, generateKeyPair().secretKey)), 401, "bad_signature");
  });

  it("another collector's records answer 403 collector_mismatch, even from the same vendor", async () => {
    const a = await enrolledSite();
    const b = await enrolledSite(a.vendor);
    b.chain.usage();
    await expectRefusedWithoutChange(a, () => postBatch(a.collectorId, b.chain.batch(1, 1)), 403, "collector_mismatch");
    expect((await doState(b.contractId)).records).toEqual([]);
  });

  it("after a key rotation, only the new key signs: the old key's next batch is 401 bad_signature", async () => {
    const site = await enrolledSite();
    const next = generateKeyPair();
    site.chain.usage();
    site.chain.append({ kind: "key_rotation", data: { public_key: next.publicKey } });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    site.chain.usage();
    await expectRefusedWithoutChange(site, () => postBatch(site.collectorId, site.chain.batch(3, 3)), 401, "bad_signature");
    expect((await ok(await postBatch(site.collectorId, site.chain.batch(3, 3, next.secretKey)))).receipt.acked_seq).toBe(3);
  });

  it("a signed batch whose record's prev is not the hash of the record before answers 409 prev_mismatch", async () => {
    const site = await enrolledSite();
    site.chain.usage(); site.chain.usage();
    const [r1, r2] = site.chain.records as [ChainRecord, ChainRecord];
    const edited = signBatch([r1, { ...r2, prev: "f".repeat(64) }], NOW, site.keys.secretKey);
    const body = await expectRefusedWithoutChange(site, () => postBatch(site.collectorId, edited), 409, "prev_mismatch");
    expect(body.seq).toBe(2);
  });

  it("an unknown collector answers 403 unknown_collector", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await expectRefusedWithoutChange(site, () => postBatch("col_doesnotexist", site.chain.batch(1, 1)), 403, "unknown_collector");
    await expectRefusedWithoutChange(site, () => postBatch("not-an-id", site.chain.batch(1, 1)), 403, "unknown_collector");
  });

  it("bad JSON, a float, a duplicate key, deep nesting or bad UTF-8 answer 400 malformed", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const text = JSON.stringify(site.chain.batch(1, 1));
    const send = (raw: BodyInit) => () => call("POST", `/v1/collectors/${site.collectorId}/batches`, { raw });
    await expectRefusedWithoutChange(site, send(text.slice(0, -1)), 400, "malformed");
    await expectRefusedWithoutChange(site, send(text.replace('"count":1', '"count":1.0')), 400, "malformed");
    await expectRefusedWithoutChange(site, send(text.replace('"count":1', '"count":1,"count":1')), 400, "malformed");
    await expectRefusedWithoutChange(site, send(text.replace('"final":true', `"final":true,"x":${"[".repeat(40)}${"]".repeat(40)}`)), 400, "malformed");
    await expectRefusedWithoutChange(site, send(new Uint8Array([0x7b, 0xff, 0x7d])), 400, "malformed");
    await expectRefusedWithoutChange(site, send(new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x01])), 400, "malformed");
    await expectRefusedWithoutChange(site, () => call("POST", `/v1/collectors/${site.collectorId}/batches`, {
      raw: new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x01]), headers: { "Content-Encoding": "gzip" },
    }), 400, "malformed");
  });

  it("a body over 4 MiB, plain or after gzip decoding (a gzip bomb), answers 413 batch_too_large", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const batch = site.chain.batch(1, 1);
    const padded = JSON.stringify({ ...batch, pad: "x".repeat(4 * 1024 * 1024) });
    await expectRefusedWithoutChange(site, () => call("POST", `/v1/collectors/${site.collectorId}/batches`, { raw: padded }), 413, "batch_too_large");
    // 64 MiB of zeros gzip to ~64 KiB; the edge must stop decoding at 4 MiB.
    const bomb = gzipSync(new Uint8Array(64 * 1024 * 1024));
    expect(bomb.byteLength).toBeLessThan(100 * 1024);
    await expectRefusedWithoutChange(site, () => call("POST", `/v1/collectors/${site.collectorId}/batches`, {
      raw: bomb, headers: { "Content-Encoding": "gzip" },
    }), 413, "batch_too_large");
  });
});
