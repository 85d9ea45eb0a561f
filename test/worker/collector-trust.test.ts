// Revocation, fork resolution and key rotation over HTTP (DESIGN.md §4): what the edge refuses
// afterwards, what it keeps, and that balances never count a record twice.
import { describe, it, expect } from "vitest";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { generateKeyPair, hashCanonical, type ChainRecord } from "../../shared/protocol/index.ts";
import { ContractDocReplica } from "../../shared/contract-doc/index.ts";
import { call, contractStub, d1State, enrolledSite, HOUR, NOW, ok, postBatch, settle, SiteChain, type Site } from "./edge-fixture.ts";

async function balanceOf(site: Site): Promise<any> {
  return ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
}

async function errorOf(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { error: string }).error];
}

describe("revocation", () => {
  it("freezes the chain at the hwm: later records are 403 revoked, receipted ones and their replays stand", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 5; i++) site.chain.usage();
    const first = await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)));

    const revoked = await ok(await call("POST", `/v1/collectors/${site.collectorId}/revoke`, { token: site.vendor.api_key, now: NOW + HOUR }));
    expect(revoked).toEqual({ collector_id: site.collectorId, revoked_at_seq: 3, revoked_at: "2026-11-27T11:00:00Z" });
    expect(await errorOf(await postBatch(site.collectorId, site.chain.batch(4, 5)))).toEqual([403, "revoked"]);
    expect(await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)))).toEqual(first);

    const balance = await balanceOf(site);
    expect(balance.usage.license_seconds).toBe(3 * 3600);
    expect(balance.collectors[0]).toMatchObject({ acked_seq: 3, flags: ["revoked"] });
    const again = await ok(await call("POST", `/v1/collectors/${site.collectorId}/revoke`, { token: site.vendor.api_key, now: NOW + 2 * HOUR }));
    expect(again).toEqual(revoked);
    await settle(site.contractId);
    expect((await d1State(site.contractId)).collectors[0].flags_json).toBe('["revoked"]');
  });

  it("a revoked collector can no longer sync the contract doc", async () => {
    const site = await enrolledSite();
    await ok(await call("POST", `/v1/collectors/${site.collectorId}/revoke`, { token: site.vendor.api_key }));
    const replica = ContractDocReplica.open({ load: () => null, save: () => {} }, site.collectorId);
    const res = await call("POST", `/v1/collectors/${site.collectorId}/doc`, { raw: replica.syncRequest(), token: site.collectorToken, headers: { "Content-Type": "application/octet-stream" } });
    expect(await errorOf(res)).toEqual([403, "revoked"]);
  });

  it("only the collector's own vendor may revoke it (another vendor gets 404)", async () => {
    const site = await enrolledSite();
    const stranger = await enrolledSite();
    expect(await errorOf(await call("POST", `/v1/collectors/${site.collectorId}/revoke`, { token: stranger.vendor.api_key }))).toEqual([404, "not_found"]);
    expect(await errorOf(await call("POST", `/v1/collectors/${site.collectorId}/revoke`))).toEqual([401, "unauthorized"]);
  });
});

/** The site after a VM snapshot restore at `restoredAt`: same records up to it, then its own. */
function restoredBranch(site: Site, restoredAt: number): SiteChain {
  const branch = new SiteChain(site.collectorId, site.keys.secretKey);
  for (const r of site.chain.records.slice(0, restoredAt)) branch.records.push(r);
  return branch;
}

describe("resolving an equivocation", () => {
  it("the site continues on its new branch; the old branch is kept as evidence and counted no more", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 5; i++) site.chain.usage({ start: NOW - 10 * HOUR + i * HOUR });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 5)));
    // Restored to seq 3 with its cursor at 2: it writes 4', 5', 6' of 2 licenses each and resends from 3.
    const branch = restoredBranch(site, 3);
    for (let i = 0; i < 3; i++) branch.usage({ start: NOW - 5 * HOUR + i * HOUR, count: 2, session: `new-${i}` });
    expect(await errorOf(await postBatch(site.collectorId, branch.batch(3, 6)))).toEqual([409, "equivocation"]);

    const resolved = await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, now: NOW + HOUR }));
    expect(resolved).toEqual({
      collector_id: site.collectorId, last_common_seq: 3, hwm: 3, resolved_at: "2026-11-27T11:00:00Z",
      superseded: { from_seq: 4, to_seq: 5, records: 2 },
    });
    let balance = await balanceOf(site);
    expect([balance.usage.license_seconds, balance.collectors[0].acked_seq, balance.collectors[0].flags]).toEqual([3 * 3600, 3, []]);

    const receipt = await ok(await postBatch(site.collectorId, branch.batch(3, 6)));
    expect([receipt.receipt.acked_seq, receipt.receipt.head]).toEqual([6, hashCanonical(branch.records[5]!)]);
    balance = await balanceOf(site);
    expect(balance.usage.license_seconds).toBe(3 * 3600 + 3 * 2 * 3600);

    const kept = await runInDurableObject(contractStub(site.contractId), (_i, state) => ({
      superseded: state.storage.sql.exec("SELECT seq, hash FROM superseded_records ORDER BY seq").toArray(),
      unresolved: state.storage.sql.exec("SELECT count(*) AS n FROM evidence WHERE resolved_at IS NULL").one().n,
      evidence: state.storage.sql.exec("SELECT count(*) AS n FROM evidence").one().n,
    }));
    expect(kept).toEqual({
      superseded: [4, 5].map((seq) => ({ seq, hash: hashCanonical(site.chain.records[seq - 1]!) })),
      unresolved: 0, evidence: 1,
    });
    await settle(site.contractId);
    await settle(site.contractId);
    const d1 = await d1State(site.contractId);
    expect(d1.records.map((r) => [r.seq, r.hash])).toEqual(branch.records.map((r: ChainRecord) => [r.seq, hashCanonical(r)]));
  });

  it("without an equivocation there is nothing to resolve (409); a last_common_seq above the hwm is 422", async () => {
    const site = await enrolledSite();
    site.chain.usage(); site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    expect(await errorOf(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key }))).toEqual([409, "nothing_to_resolve"]);
    const branch = restoredBranch(site, 1);
    branch.usage({ session: "other" });
    expect(await errorOf(await postBatch(site.collectorId, branch.batch(1, 2)))).toEqual([409, "equivocation"]);
    expect(await errorOf(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, body: { last_common_seq: 3 } }))).toEqual([422, "invalid_request"]);
    const resolved = await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, body: { last_common_seq: 1 } }));
    expect(resolved.superseded).toEqual({ from_seq: 2, to_seq: 2, records: 1 });
  });

  it("a resolve retried under its Idempotency-Key answers the first resolution, not 409 nor a resolution of a later fork", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 3; i++) site.chain.usage({ start: NOW - 10 * HOUR + i * HOUR });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)));
    const branch = restoredBranch(site, 2);
    branch.usage({ session: "first-restore" });
    expect(await errorOf(await postBatch(site.collectorId, branch.batch(2, 3)))).toEqual([409, "equivocation"]);
    const resolve = (key: string) => call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, now: NOW + HOUR, headers: { "Idempotency-Key": key } });
    const first = await resolve("fork-1");
    const resolved = await ok(first);
    expect(resolved).toMatchObject({ last_common_seq: 2, superseded: { from_seq: 3, to_seq: 3, records: 1 } });

    // The answer was lost; the vendor's retry gets it again, and nothing moves a second time.
    const retry = await resolve("fork-1");
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await ok(retry)).toEqual(resolved);
    expect(await errorOf(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key }))).toEqual([409, "nothing_to_resolve"]);

    // The site sends its branch, is restored once more and forks again: a late retry of the first
    // resolution must not resolve this second fork; a new key does.
    await ok(await postBatch(site.collectorId, branch.batch(2, 3)));
    const again = new SiteChain(site.collectorId, site.keys.secretKey);
    for (const r of branch.records.slice(0, 2)) again.records.push(r);
    again.usage({ session: "second-restore" });
    expect(await errorOf(await postBatch(site.collectorId, again.batch(2, 3)))).toEqual([409, "equivocation"]);
    expect(await ok(await resolve("fork-1"))).toEqual(resolved);
    expect((await balanceOf(site)).collectors[0].flags).toEqual(["equivocation"]);
    expect(await ok(await resolve("fork-2"))).toMatchObject({ last_common_seq: 2, superseded: { from_seq: 3, to_seq: 3, records: 1 } });
    expect((await balanceOf(site)).collectors[0].flags).toEqual([]);
  });

  it("a key rotation on the superseded branch is forgotten: the new branch keeps the old key", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    const rotated = generateKeyPair();
    site.chain.append({ kind: "key_rotation", data: { public_key: rotated.publicKey } });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    const branch = restoredBranch(site, 1);
    branch.usage({ session: "after-restore" });
    expect(await errorOf(await postBatch(site.collectorId, branch.batch(1, 2)))).toEqual([409, "equivocation"]);
    await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key }));
    expect((await ok(await postBatch(site.collectorId, branch.batch(2, 2)))).receipt.acked_seq).toBe(2);
  });
});

describe("key rotation over HTTP", () => {
  it("a backlog with a rotation in the middle: old key up to the rotation, new key after, kept across DO eviction", async () => {
    const site = await enrolledSite();
    const next = generateKeyPair();
    site.chain.usage(); site.chain.usage();
    site.chain.append({ kind: "key_rotation", data: { public_key: next.publicKey } });
    site.chain.usage(); site.chain.usage();

    expect((await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)))).receipt.acked_seq).toBe(3);
    expect(await errorOf(await postBatch(site.collectorId, site.chain.batch(4, 5)))).toEqual([401, "bad_signature"]);
    await evictDurableObject(contractStub(site.contractId));
    expect((await ok(await postBatch(site.collectorId, site.chain.batch(4, 5, next.secretKey)))).receipt.acked_seq).toBe(5);
    // The old batches replay with the old key; the key history is in the DO, not in memory.
    expect((await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)))).receipt.acked_seq).toBe(5);
    const keys = await runInDurableObject(contractStub(site.contractId), (_i, state) =>
      JSON.parse(state.storage.sql.exec<{ keys_json: string }>("SELECT keys_json FROM chains").one().keys_json));
    expect(keys).toEqual([{ from_seq: 1, public_key: site.keys.publicKey }, { from_seq: 4, public_key: next.publicKey }]);
  });

  it("a bundle carries a rotation mid-backlog: the batch ending at the rotation signed old, the next new", async () => {
    const site = await enrolledSite();
    const next = generateKeyPair();
    site.chain.usage();
    site.chain.append({ kind: "key_rotation", data: { public_key: next.publicKey } });
    site.chain.usage();
    const res = await ok(await call("POST", `/v1/collectors/${site.collectorId}/bundles`, { body: {
      format: "tally-bundle/v1", collector_id: site.collectorId, batches: [site.chain.batch(1, 2), site.chain.batch(3, 3, next.secretKey)],
    } }));
    expect(res.receipts.map((r: any) => r.receipt.acked_seq)).toEqual([2, 3]);
  });
});
