// GET /v1/contracts/:id/collectors (the vendor's view of its sites) and liveness (DESIGN.md §7):
// a site is stale when its last sync — or its enrollment, before any — is older than
// 2 × expected_sync_s at the request's clock; the balance is stale when any site is.
import { describe, it, expect } from "vitest";
import { generateKeyPair } from "../../shared/protocol/index.ts";
import { call, createContract, createVendor, HOUR, NOW, ok, postBatch, settle, SiteChain } from "./edge-fixture.ts";

/** A contract (expected sync one hour) with two sites: plant-7 synced at NOW, lab-2 enrolled at NOW - 1 h and never synced. */
async function twoSites() {
  const vendor = await createVendor();
  const contract = await createContract(vendor, { expected_sync_s: 3600 });
  const enroll = async (site: string, now: number) => {
    const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key, now }), 201);
    const keys = generateKeyPair();
    const enrolled = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site }, now }), 201);
    return { id: enrolled.collector_id as string, chain: new SiteChain(enrolled.collector_id, keys.secretKey) };
  };
  const plant = await enroll("plant-7", NOW - 2 * HOUR);
  const lab = await enroll("lab-2", NOW - HOUR);
  plant.chain.usage();
  plant.chain.usage({ daemon: "OTHERD", feature: "CAD" });
  plant.chain.usage({ daemon: "OTHERD", feature: "CAM" });
  await ok(await postBatch(plant.id, plant.chain.batch(1, 3)));
  await settle(contract.id);
  return { vendor, contract, plant, lab };
}

const list = (token: string, contractId: string, query = "", now = NOW) => call("GET", `/v1/contracts/${contractId}/collectors${query}`, { token, now });

describe("GET /v1/contracts/:id/collectors", () => {
  it("lists each site with its hwm, last sync, flags, staleness and quarantined records, a page at a time", async () => {
    const { vendor, contract, plant, lab } = await twoSites();
    const first = await ok(await list(vendor.api_key, contract.id, "?limit=1"));
    expect(first).toEqual({
      items: [{ id: plant.id, site: "plant-7", enrolled_at: "2026-11-27T08:00:00Z", acked_seq: 3, last_sync: "2026-11-27T10:00:00Z", stale: false, flags: [], quarantined_records: 2 }],
      next_cursor: plant.id,
    });
    const second = await ok(await list(vendor.api_key, contract.id, `?limit=1&cursor=${first.next_cursor}`));
    expect(second).toEqual({
      items: [{ id: lab.id, site: "lab-2", enrolled_at: "2026-11-27T09:00:00Z", acked_seq: 0, last_sync: null, stale: false, flags: [], quarantined_records: 0 }],
      next_cursor: null,
    });
  });

  it("limit outside 1–100 or a cursor that is no cursor is a 422 naming the query field", async () => {
    const { vendor, contract } = await twoSites();
    for (const [query, field] of [["?limit=0", "query.limit"], ["?limit=101", "query.limit"], ["?limit=ten", "query.limit"], ["?cursor=DROP", "query.cursor"]]) {
      const res = await list(vendor.api_key, contract.id, query);
      expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field } });
    }
  });
});

describe("liveness", () => {
  it("a site is stale strictly after 2 × expected_sync_s since its last sync, judged at the request's clock", async () => {
    const { vendor, contract, plant } = await twoSites();
    const staleOf = async (now: number) => (await ok(await list(vendor.api_key, contract.id, "", now))).items.map((s: any) => [s.site, s.stale]);
    // lab-2 was enrolled at NOW - 1 h and never synced: stale from NOW + 1 h + 1 s.
    expect(await staleOf(NOW + HOUR)).toEqual([["plant-7", false], ["lab-2", false]]);
    expect(await staleOf(NOW + HOUR + 1000)).toEqual([["plant-7", false], ["lab-2", true]]);
    // plant-7 last synced at NOW.
    expect(await staleOf(NOW + 2 * HOUR)).toEqual([["plant-7", false], ["lab-2", true]]);
    expect(await staleOf(NOW + 2 * HOUR + 1000)).toEqual([["plant-7", true], ["lab-2", true]]);

    plant.chain.usage();
    await ok(await postBatch(plant.id, plant.chain.batch(4, 4), { now: NOW + 3 * HOUR }));
    expect(await staleOf(NOW + 3 * HOUR)).toEqual([["plant-7", false], ["lab-2", true]]);
  });

  it("the balance is stale when any site is, and not when all synced in time", async () => {
    const { vendor, contract } = await twoSites();
    const balanceAt = async (now: number) => ok(await call("GET", `/v1/contracts/${contract.id}/balance`, { token: vendor.api_key, now }));
    expect((await balanceAt(NOW)).stale).toBe(false);
    const later = await balanceAt(NOW + HOUR + 1000);
    expect({ stale: later.stale, sites: later.collectors.map((c: any) => [c.site, c.stale]) })
      .toEqual({ stale: true, sites: expect.arrayContaining([["plant-7", false], ["lab-2", true]]) });
  });

  it("the default expected sync is one day: a site enrolled 47 h ago without a sync is fresh, 48 h and one second after enrollment stale", async () => {
    const vendor = await createVendor();
    const contract = await createContract(vendor);
    expect((await ok(await call("GET", `/v1/contracts/${contract.id}`, { token: vendor.api_key }))).expected_sync_s).toBe(86400);
    const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key }), 201);
    await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: "ab".repeat(32), site: "ship" } }), 201);
    expect((await ok(await list(vendor.api_key, contract.id, "", NOW + 47 * HOUR))).items[0].stale).toBe(false);
    expect((await ok(await list(vendor.api_key, contract.id, "", NOW + 48 * HOUR + 1000))).items[0].stale).toBe(true);
  });
});
