// The contract doc over HTTP (DESIGN.md §8): a collector's replica pulls the edge-written terms
// and balance, pushes its own site root, and an update touching anything else is refused with
// the edge's doc unchanged; the doc survives compaction and DO eviction byte for byte.
import { describe, it, expect } from "vitest";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import * as Y from "yjs";
import { ContractDocReplica, encodeSyncRequest, type ReplicaStore } from "../../shared/contract-doc/index.ts";
import type { ContractDO } from "../../worker/contract/contract-do.ts";
import { generateKeyPair } from "../../shared/protocol/index.ts";
import { call, contractStub, createContract, createVendor, enrolledSite, NOW, ok, plan, postBatch, SiteChain, type Site } from "./edge-fixture.ts";

function memoryStore(): ReplicaStore & { blob: Uint8Array | null } {
  return { blob: null, load() { return this.blob; }, save(b) { this.blob = b; } };
}

function postDoc(site: Site, body: Uint8Array, token = site.collectorToken, collectorId = site.collectorId): Promise<Response> {
  return call("POST", `/v1/collectors/${collectorId}/doc`, { raw: body, token, headers: { "Content-Type": "application/octet-stream" } });
}

async function syncReplica(site: Site, replica: ContractDocReplica): Promise<Response> {
  const res = await postDoc(site, replica.syncRequest());
  if (res.status === 200) replica.applySyncAnswer(new Uint8Array(await res.arrayBuffer()));
  return res;
}

/** The DO's doc storage and content, for before/after comparisons. */
async function edgeDoc(contractId: string) {
  return runInDurableObject(contractStub(contractId), (instance: ContractDO, state) => ({
    rows: state.storage.sql.exec("SELECT id, hex(update_v2) AS u FROM doc_rows ORDER BY id").toArray(),
    snapshot: state.storage.sql.exec("SELECT hex(state_v2) AS s FROM doc_snapshot").toArray(),
    json: instance.readDoc(),
  }));
}

describe("contract doc sync", () => {
  it("a replica pulls the terms written at contract creation and the balance written after each batch (no grant: remaining null, blocked)", async () => {
    const site = await enrolledSite();
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    expect((await syncReplica(site, replica)).status).toBe(200);
    expect(replica.read().terms).toEqual({
      contract_id: site.contractId, plan, plan_versions: [{ effective_at: Date.UTC(2026, 9, 31, 23), plan }], scope: plan.scope, rates: plan.rates,
      unit_name: "token", currency: "USD", period: "month", timezone: "Europe/Berlin", start_date: "2026-11-01", start_at: "2026-10-31T23:00:00Z",
    });
    expect(replica.read().balance).toBeNull();

    site.chain.usage(); site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    await syncReplica(site, replica);
    expect(replica.read().balance).toEqual({
      as_of: "2026-11-27T10:00:00Z", remaining_units: null, granted_units: "0", status: "blocked", blocked_features: ["MATLAB"],
      period: { start: "2026-10-31T23:00:00Z", end: "2026-11-30T23:00:00Z" },
      collectors: { [site.collectorId]: { acked_seq: 2 } },
    });
  });

  it("a blocked contract blocks the features of the plan version in force, not those of its first version", async () => {
    const vendor = await createVendor();
    const first = { ...plan, scope: [{ daemon: "MLM", features: ["MATLAB"] }] };
    const contract = await createContract(vendor, { plan: first });
    const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key }), 201);
    const keys = generateKeyPair();
    const enrolled = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site: "plant-7" } }), 201);
    const site = { vendor, contractId: contract.id, collectorId: enrolled.collector_id, collectorToken: enrolled.collector_token, keys, chain: new SiteChain(enrolled.collector_id, keys.secretKey), enrollment: enrolled };
    // From 15 November the contract meters Simulink instead of MATLAB.
    await ok(await call("PUT", `/v1/contracts/${contract.id}/plan`, { token: vendor.api_key, body: { plan: { ...plan, scope: [{ daemon: "MLM", features: ["Simulink"] }] }, effective_at: "2026-11-15T00:00:00Z" } }), 202);
    site.chain.usage({ feature: "Simulink" });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    await syncReplica(site, replica);
    expect(replica.read().balance).toMatchObject({ status: "blocked", blocked_features: ["Simulink"] });
  });

  it("site-side enforcement: a grant that lifts the block reaches the next doc sync without a batch; enforcement records are stored unbilled and listed newest first", async () => {
    const site = await enrolledSite();
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    await syncReplica(site, replica);
    expect(replica.read().balance).toMatchObject({ status: "blocked", blocked_features: ["MATLAB"] });

    await ok(await call("POST", `/v1/contracts/${site.contractId}/grants`, { token: site.vendor.api_key, body: { amount: "100", idempotency_key: "lift" } }), 201);
    await syncReplica(site, replica);
    expect(replica.read().balance!.status).not.toBe("blocked");
    expect(replica.read().balance!.blocked_features).toBeUndefined();

    const before = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
    site.chain.append({ kind: "enforcement", data: { action: "block", features: ["MATLAB"], at: NOW - 7_200_000, result: "applied", manager: "flexlm" } });
    site.chain.append({ kind: "enforcement", data: { action: "unblock", features: ["MATLAB"], at: NOW - 3_600_000, result: "reread_failed", manager: "flexlm" } });
    await ok(await postBatch(site.collectorId, site.chain.batch(2, 3)));
    const after = await ok(await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key }));
    expect(after.usage).toEqual(before.usage);
    expect(after.charges).toEqual(before.charges);
    const sites = await ok(await call("GET", `/v1/contracts/${site.contractId}/collectors`, { token: site.vendor.api_key }));
    expect(sites.items[0].quarantined_records).toBe(0);

    const page1 = await ok(await call("GET", `/v1/contracts/${site.contractId}/enforcement?limit=1`, { token: site.vendor.api_key }));
    expect(page1.items).toEqual([{ collector_id: site.collectorId, site: "plant-7", seq: 3, action: "unblock", features: ["MATLAB"], at: "2026-11-27T09:00:00Z", result: "reread_failed", received_at: "2026-11-27T10:00:00Z" }]);
    const page2 = await ok(await call("GET", `/v1/contracts/${site.contractId}/enforcement?limit=1&cursor=${page1.next_cursor}`, { token: site.vendor.api_key }));
    expect(page2.items.map((i: { seq: number }) => i.seq)).toEqual([2]);
    expect(page2.next_cursor).toBeNull();
  });

  it("a replayed batch writes no balance row", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const before = await edgeDoc(site.contractId);
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1), { now: NOW + 60_000 }));
    expect(await edgeDoc(site.contractId)).toEqual(before);
  });

  it("a site's edit of its own root reaches the edge and other replicas", async () => {
    const site = await enrolledSite();
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    await syncReplica(site, replica);
    replica.writeSite({ site_name: "Plant 7, hall B", cost_centres: { ada: "CC-100" } });
    expect((await syncReplica(site, replica)).status).toBe(200);
    expect(replica.hasUnsentEdits).toBe(false);
    expect((await edgeDoc(site.contractId)).json.sites).toEqual({ [site.collectorId]: { site_name: "Plant 7, hall B", cost_centres: { ada: "CC-100" } } });
    const fresh = ContractDocReplica.open(memoryStore(), site.collectorId);
    await syncReplica(site, fresh);
    expect(fresh.read()).toEqual(replica.read());
  });

  it("an update touching terms is refused 422 doc_update_refused and the edge doc is unchanged", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    await syncReplica(site, replica);
    const forged = new Y.Doc();
    Y.applyUpdate(forged, replica.encodeState());
    const sv = Y.encodeStateVector(forged);
    forged.getMap("terms").set("unit_name", "free");
    forged.getMap(`site:${site.collectorId}`).set("site_name", "sneaky");

    const before = await edgeDoc(site.contractId);
    const res = await postDoc(site, encodeSyncRequest({ stateVector: sv, update: Y.encodeStateAsUpdate(forged, sv) }));
    const body = await res.json() as Record<string, unknown>;
    expect({ status: res.status, error: body.error, reason: body.reason }).toEqual({ status: 422, error: "doc_update_refused", reason: "edge_content" });
    expect(await edgeDoc(site.contractId)).toEqual(before);

    // The refused site discards its replica and pulls again: it gets the edge's terms back.
    replica.discard();
    await syncReplica(site, replica);
    expect(replica.read().terms.unit_name).toBe("token");
    expect(replica.read().sites).toEqual({});
  });

  it("creating any root but its own (another collector's included) is refused as new_root", async () => {
    const site = await enrolledSite();
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    await syncReplica(site, replica);
    const forged = new Y.Doc();
    Y.applyUpdate(forged, replica.encodeState());
    const sv = Y.encodeStateVector(forged);
    forged.getMap("site:col_someoneelse").set("site_name", "not mine");
    const res = await postDoc(site, encodeSyncRequest({ stateVector: sv, update: Y.encodeStateAsUpdate(forged, sv) }));
    expect(res.status).toBe(422);
    expect(((await res.json()) as { reason: string }).reason).toBe("new_root");
  });

  it("the collector token must be this collector's: none, a wrong one or another site's answer 401", async () => {
    const site = await enrolledSite();
    const other = await enrolledSite(site.vendor);
    const body = ContractDocReplica.open(memoryStore(), site.collectorId).syncRequest();
    for (const token of [undefined, "tc_test_wrong", other.collectorToken]) {
      const res = await call("POST", `/v1/collectors/${site.collectorId}/doc`, { raw: body, ...(token ? { token } : {}), headers: { "Content-Type": "application/octet-stream" } });
      expect([res.status, ((await res.json()) as { error: string }).error]).toEqual([401, "unauthorized"]);
    }
  });

  it("a body that is not octet-stream, or not y-protocols messages, answers 400 malformed_doc_message", async () => {
    const site = await enrolledSite();
    const asJson = await call("POST", `/v1/collectors/${site.collectorId}/doc`, { body: { hello: 1 }, token: site.collectorToken });
    expect([asJson.status, ((await asJson.json()) as { error: string }).error]).toEqual([400, "malformed_doc_message"]);
    const garbage = await postDoc(site, new Uint8Array([7, 200, 1]));
    expect([garbage.status, ((await garbage.json()) as { error: string }).error]).toEqual([400, "malformed_doc_message"]);
  });

  it("compaction keeps the doc identical, across DO eviction too", { timeout: 120_000 }, async () => {
    const site = await enrolledSite();
    // 130 applied batches: 130 balance writes, past the 100 rows that trigger a snapshot.
    for (let i = 1; i <= 130; i++) {
      site.chain.usage({ start: NOW - 3 * 3600_000 + i * 60_000 });
      await ok(await postBatch(site.collectorId, site.chain.batch(i, i), { now: NOW + i * 1000 }));
    }
    const replica = ContractDocReplica.open(memoryStore(), site.collectorId);
    replica.writeSite({ contact: "ops@plant7.example" });
    await syncReplica(site, replica);

    const before = await edgeDoc(site.contractId);
    expect(before.snapshot.length).toBe(1);
    expect(before.rows.length).toBeLessThan(100);
    expect(before.json.balance?.collectors).toEqual({ [site.collectorId]: { acked_seq: 130 } });

    await evictDurableObject(contractStub(site.contractId));
    expect(await edgeDoc(site.contractId)).toEqual(before);
    const fresh = ContractDocReplica.open(memoryStore(), site.collectorId);
    await syncReplica(site, fresh);
    expect(fresh.read()).toEqual(before.json);
    expect(Y.encodeStateVector(docOf(fresh))).toEqual(Y.encodeStateVector(docOf(replica)));
  });
});

function docOf(replica: ContractDocReplica): Y.Doc {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, replica.encodeState());
  return doc;
}
