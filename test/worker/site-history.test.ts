// Moving a site with its history between contracts/edges: the source keeps each batch's
// checkpoint and signature and exports the site's history as `tally-bundle/v1` pages; the target
// registers the site (same id and key) and replays the pages with the source's arrival times,
// ending with the same balance and the same statements — a closed period's included. Tampered
// pages are refused with the protocol's codes and change nothing.
import { describe, expect, it } from "vitest";
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { generateKeyPair, hashCanonical, type Batch } from "../../shared/protocol/index.ts";
import { migrateStorage } from "../../worker/contract/storage-schema.ts";
import { HISTORY_PAGE_BYTES } from "../../worker/contract/checkpoints.ts";
import { call, contractStub, createContract, createVendor, doState, enrolledSite, ok, plan, postBatch, settle, SiteChain, type Site, type Vendor } from "./edge-fixture.ts";

const DAY = 24 * 3600_000;
const hashOf = (r: unknown) => hashCanonical(r as never);
const at = (d: number, h = 10) => Date.UTC(2026, 10, d, h); // November 2026 (d > 30 runs into December)
const T = at(40); // 10 Dec: November closed on 4 Dec (72 h grace)
/** Overage billed, so a late record shows as an adjustment with an amount. */
const allowPlan = { ...plan, price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "2.50" }] }, overage: { policy: "allow" } };
/** 1 Nov 00:00 in Berlin: the contract's first period starts there. */
const NOV_START = "2026-10-31T23:00:00Z";

interface HistoryPage { collector_id: string; replayable_from: number; hwm: number; bundle: { batches: Batch[] }; received_at_ms: number[]; next_after_seq: number | null }

async function history(site: { vendor: Vendor; contractId: string; collectorId: string }, now: number): Promise<HistoryPage[]> {
  const pages: HistoryPage[] = [];
  for (let after = 0; ;) {
    const page = await ok<HistoryPage>(await call("GET", `/v1/contracts/${site.contractId}/collectors/${site.collectorId}/history?after_seq=${after}`, { token: site.vendor.api_key, now }));
    pages.push(page);
    if (page.next_after_seq === null) return pages;
    after = page.next_after_seq;
  }
}

/** A site with on-time November usage, a key rotation, a late November record and December usage. */
async function sourceSite(): Promise<Site> {
  const vendor = await createVendor();
  const contract = await createContract(vendor, { plan: allowPlan });
  const { enrollment_token } = await ok(await call("POST", `/v1/contracts/${contract.id}/enrollments`, { token: vendor.api_key }), 201);
  const keys = generateKeyPair();
  const enrollment = await ok(await call("POST", "/v1/enroll", { body: { enrollment_token, public_key: keys.publicKey, site: "plant-7" } }), 201);
  const site: Site = { vendor, contractId: contract.id, collectorId: enrollment.collector_id, collectorToken: enrollment.collector_token, keys, chain: new SiteChain(enrollment.collector_id, keys.secretKey), enrollment };
  await ok(await call("POST", `/v1/contracts/${site.contractId}/grants`, { token: site.vendor.api_key, now: at(2), body: { amount: "3", idempotency_key: "g1" } }), 201);
  const usage = (day: number) => site.chain.usage({ start: at(day, 8), end: at(day, 9) });
  [20, 21, 22].forEach(usage);
  await ok(await postBatch(site.collectorId, site.chain.batch(1, 3), { now: at(27) }));
  usage(23);
  const rotated = generateKeyPair();
  site.chain.append({ kind: "key_rotation", data: { public_key: rotated.publicKey } }, at(28));
  await ok(await postBatch(site.collectorId, site.chain.batch(4, 5), { now: at(28) }));
  site.chain.secretKey = rotated.secretKey;
  usage(29);
  await ok(await postBatch(site.collectorId, site.chain.batch(6, 6), { now: at(30) }));
  usage(30); // arrives after November closed: an adjustment in December
  usage(35);
  await ok(await postBatch(site.collectorId, site.chain.batch(7, 8), { now: at(38) }));
  return site;
}

/** Statement figures without the ids that differ between contracts (grant ids). */
function figures(statement: any): unknown {
  return JSON.parse(JSON.stringify({ ...statement, contract_id: undefined }).replace(/grt_[0-9a-f]{32}/g, "grt"));
}

async function readAll(contractId: string, vendor: Vendor, now: number) {
  const get = async (path: string) => ok(await call("GET", `/v1/contracts/${contractId}${path}`, { token: vendor.api_key, now }));
  const balance = await get("/balance");
  return {
    november: figures(await get("/statement?period=2026-11-01")), december: figures(await get("/statement")),
    balance: { usage: balance.usage, remaining: balance.remaining_units, granted: balance.granted_units, overage: balance.overage_units, status: balance.status },
  };
}

/**
 * A target contract (another vendor) with the site registered and the grant re-created. One
 * workerd holds one directory (D1), where a collector id names one site: the source's directory
 * rows for the site go first, standing in for "another edge" (its ContractDO keeps every figure).
 */
async function target(site: Site, hwm: number): Promise<{ vendor: Vendor; contractId: string; register: Response }> {
  await settle(site.contractId);
  await env.DB.batch(["records", "usage_facts", "collectors"].map((table) =>
    env.DB.prepare(`DELETE FROM ${table} WHERE ${table === "collectors" ? "id" : "collector_id"} = ?`).bind(site.collectorId)));
  const vendor = await createVendor("Target Vendor");
  const contract = await createContract(vendor, { plan: allowPlan });
  const register = await call("PUT", `/v1/contracts/${contract.id}/collectors/${site.collectorId}`, { token: vendor.api_key, now: T, body: { public_key: site.keys.publicKey, site: "plant-7", history_to_seq: hwm } });
  await ok(await call("POST", `/v1/contracts/${contract.id}/grants`, { token: vendor.api_key, now: T, body: { amount: "3", idempotency_key: "g1", ...(hwm > 0 ? { created_at: new Date(at(2)).toISOString() } : { effective_at: NOV_START }) } }), 201);
  return { vendor, contractId: contract.id, register };
}

function replay(t: { vendor: Vendor; contractId: string }, collectorId: string, page: unknown): Promise<Response> {
  return call("POST", `/v1/contracts/${t.contractId}/collectors/${collectorId}/replay`, { token: t.vendor.api_key, now: T, body: page });
}

describe("site history between edges", () => {
  it("a replayed history gives the target the source's balance and statements, the closed period's included", async () => {
    const site = await sourceSite();
    const pages = await history(site, T);
    expect(pages).toHaveLength(1);
    expect(pages[0]!.replayable_from).toBe(1);
    expect(pages[0]!.bundle.batches.map((b) => b.checkpoint.seq)).toEqual([3, 5, 6, 8]);
    expect(pages[0]!.received_at_ms).toEqual([at(27), at(28), at(30), at(38)]);

    const t = await target(site, 8);
    const registered = await ok(t.register, 201);
    expect(registered).toMatchObject({ collector_id: site.collectorId, acked_seq: 0, history_to_seq: 8 });
    expect(registered.collector_token).toMatch(/^tc_/);
    // While the import is pending, nothing is frozen: the target's November is still open.
    expect((await ok(await call("GET", `/v1/contracts/${t.contractId}/statement?period=2026-11-01`, { token: t.vendor.api_key, now: T }))).state).not.toBe("closed");

    const res = await ok(await replay(t, site.collectorId, pages[0]));
    expect(res.receipts.map((r: any) => [r.receipt.acked_seq, r.receipt.received_at])).toEqual([[3, at(27)], [5, at(28)], [6, at(30)], [8, at(38)]]);
    const source = await readAll(site.contractId, site.vendor, T + 3600_000);
    const moved = await readAll(t.contractId, t.vendor, T + 3600_000);
    expect((source.november as any).state).toBe("closed");
    expect((source.november as any).lines.length).toBeGreaterThan(0);
    expect((source.december as any).lines.some((l: any) => l.kind === "adjustment")).toBe(true);
    expect(moved).toEqual(source);

    // The site carries on with its own chain against the target, under its rotated key.
    site.chain.usage({ start: at(39, 8), end: at(39, 9) });
    const next = await ok(await postBatch(site.collectorId, site.chain.batch(9, 9), { now: T + 2 * 3600_000 }));
    expect(next.receipt.acked_seq).toBe(9);
    // The collector row is one (same id) — the batch route finds it on the target contract now.
    await settle(t.contractId);
    expect((await history({ ...t, collectorId: site.collectorId }, T + 3 * 3600_000))[0]!.hwm).toBe(9);
  });

  it("registration is idempotent for the same key and site, 409 collector_exists for another key, site name or contract", async () => {
    const site = await sourceSite();
    const t = await target(site, 8);
    await ok(t.register, 201);
    const again = await ok(await call("PUT", `/v1/contracts/${t.contractId}/collectors/${site.collectorId}`, { token: t.vendor.api_key, now: T, body: { public_key: site.keys.publicKey, site: "plant-7", history_to_seq: 8 } }));
    expect(again).toMatchObject({ collector_token: null, acked_seq: 0, history_to_seq: 8 });
    const otherKey = await call("PUT", `/v1/contracts/${t.contractId}/collectors/${site.collectorId}`, { token: t.vendor.api_key, now: T, body: { public_key: generateKeyPair().publicKey, site: "plant-7" } });
    expect([otherKey.status, ((await otherKey.json()) as any).error]).toEqual([409, "collector_exists"]);
    // Another site name is not silently kept as the first: registering never renames.
    const renamed = await call("PUT", `/v1/contracts/${t.contractId}/collectors/${site.collectorId}`, { token: t.vendor.api_key, now: T, body: { public_key: site.keys.publicKey, site: "plant-8", history_to_seq: 8 } });
    expect([renamed.status, ((await renamed.json()) as any).error]).toEqual([409, "collector_exists"]);
    expect((await ok(await call("GET", `/v1/contracts/${t.contractId}/collectors`, { token: t.vendor.api_key, now: T }))).items.map((s: any) => s.site)).toEqual(["plant-7"]);
    const elsewhere = await createContract(t.vendor);
    const otherContract = await call("PUT", `/v1/contracts/${elsewhere.id}/collectors/${site.collectorId}`, { token: t.vendor.api_key, now: T, body: { public_key: site.keys.publicKey, site: "plant-7" } });
    expect([otherContract.status, ((await otherContract.json()) as any).error]).toEqual([409, "collector_exists"]);
  });

  it("tampered pages and arrivals are refused with stable codes and change nothing", async () => {
    const site = await sourceSite();
    const [page] = await history(site, T);
    const t = await target(site, 8);
    await ok(t.register, 201);
    const before = await doState(t.contractId);

    const edited = structuredClone(page!);
    (edited.bundle.batches[0]!.records[1]!.data as any).count = 5;
    const refused = await replay(t, site.collectorId, edited);
    expect([refused.status, ((await refused.json()) as any).error]).toEqual([409, "prev_mismatch"]);
    const resigned = structuredClone(page!);
    resigned.bundle.batches[0]!.checkpoint.ts += 1;
    const badSignature = await replay(t, site.collectorId, resigned);
    expect([badSignature.status, ((await badSignature.json()) as any).error]).toEqual([401, "bad_signature"]);
    const future = await replay(t, site.collectorId, { ...page!, received_at_ms: page!.received_at_ms.map((ms, i) => (i === 2 ? T + DAY : ms)) });
    expect([future.status, ((await future.json()) as any).error]).toEqual([409, "arrival_refused"]);
    const backwards = await replay(t, site.collectorId, { ...page!, received_at_ms: [...page!.received_at_ms].reverse() });
    expect([backwards.status, ((await backwards.json()) as any).error]).toEqual([409, "arrival_refused"]);
    expect(await doState(t.contractId)).toEqual(before);

    // The pages are the import's: once the chain is complete no arrival is accepted any more.
    await ok(await replay(t, site.collectorId, page));
    const late = await replay(t, site.collectorId, page);
    expect([late.status, ((await late.json()) as any).error]).toEqual([409, "arrival_refused"]);
  });

  it("the bare bundle is accepted unchanged by the collector route (received there and then)", async () => {
    const site = await sourceSite();
    const [page] = await history(site, T);
    const t = await target(site, 0);
    await ok(t.register, 201);
    const res = await ok(await call("POST", `/v1/collectors/${site.collectorId}/bundles`, { now: T, body: page!.bundle }));
    expect(res.receipts.at(-1).receipt).toMatchObject({ acked_seq: 8, received_at: T });
    const source = await readAll(site.contractId, site.vendor, T + 3600_000);
    const moved = await readAll(t.contractId, t.vendor, T + 3600_000);
    // Same usage; received late, November's usage is an adjustment in December's statement instead.
    expect(moved.balance.usage).toEqual(source.balance.usage);
    expect((moved.november as any).lines).toEqual([]);
  });

  it("pages are bounded: 205 batches come in two pages that tile the chain", async () => {
    const site = await enrolledSite();
    for (let i = 1; i <= 205; i++) {
      site.chain.usage({ start: at(20) + i * 60_000, end: at(20) + i * 60_000 + 30_000 });
      await ok(await postBatch(site.collectorId, site.chain.batch(i, i)));
    }
    const pages = await history(site, at(27));
    expect(pages.map((p) => p.bundle.batches.length)).toEqual([200, 5]);
    expect(pages.flatMap((p) => p.bundle.batches.flatMap((b) => b.records.map((r) => r.seq)))).toEqual(Array.from({ length: 205 }, (_, i) => i + 1));
  });

  it("pages are bounded by bytes too: 8 batches of ten ~62 KiB records come in two pages, each far under a bundle's 16 MiB", async () => {
    const site = await enrolledSite();
    const sources = (r: number) => Array.from({ length: 250 }, (_, i) => ({ source: `${r}-${i}-`.padEnd(200, "x"), up: true, at: at(20) }));
    for (let b = 0; b < 8; b++) {
      for (let r = 0; r < 10; r++) site.chain.append({ kind: "heartbeat", data: { sources: sources(b * 10 + r) } }, at(20));
      await ok(await postBatch(site.collectorId, site.chain.batch(b * 10 + 1, b * 10 + 10)));
    }
    const pages = await history(site, at(27));
    expect(pages.map((p) => p.bundle.batches.length)).toEqual([7, 1]);
    const bytes = pages.map((p) => JSON.stringify(p).length);
    expect(bytes[0]).toBeGreaterThan(HISTORY_PAGE_BYTES);
    expect(bytes[0]).toBeLessThan(HISTORY_PAGE_BYTES + 2 * 1024 * 1024);
  });

  it("a resolved fork: the superseded branch's checkpoints go; a batch that straddled the fork point makes only the new branch replayable", async () => {
    const forked = async (batches: Array<[number, number]>) => {
      const site = await enrolledSite();
      for (let i = 0; i < 5; i++) site.chain.usage({ start: at(20) + i * 3600_000, end: at(20) + (i + 1) * 3600_000 });
      for (const [from, to] of batches) await ok(await postBatch(site.collectorId, site.chain.batch(from, to)));
      // Restored to seq 3: 4', 5', 6' of its own, resent from 4 after the vendor resolves the fork.
      const branch = new SiteChain(site.collectorId, site.keys.secretKey);
      branch.records.push(...site.chain.records.slice(0, 3));
      for (let i = 0; i < 3; i++) branch.usage({ start: at(21) + i * 3600_000, end: at(21) + (i + 1) * 3600_000, session: `new-${i}` });
      expect((await postBatch(site.collectorId, branch.batch(4, 6))).status).toBe(409);
      await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key }));
      await ok(await postBatch(site.collectorId, branch.batch(4, 6)));
      const [page] = await history(site, NOW_PLUS);
      return { replayable_from: page!.replayable_from, batches: page!.bundle.batches.map((b) => [b.records[0]!.seq, b.checkpoint.seq, b.checkpoint.head === hashOf(b.records.at(-1))]) };
    };
    expect(await forked([[1, 3], [4, 5]])).toEqual({ replayable_from: 1, batches: [[1, 3, true], [4, 6, true]] });
    expect(await forked([[1, 2], [3, 5]])).toEqual({ replayable_from: 4, batches: [[4, 6, true]] });
  });

  it("history received before the checkpoint step is not replayable: the export says from which seq it is", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 3; i++) site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 3)));
    // Rewind the DO's storage to the version before the checkpoint step (and the evidence-parts and
    // grant-expiry-index and fork-jobs steps after it), then let it migrate.
    await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE fork_jobs; DROP INDEX grants_expiring; DROP TABLE evidence_parts; DROP TABLE checkpoints; ALTER TABLE chains DROP COLUMN replayable_from; ALTER TABLE chains DROP COLUMN import_to_seq");
      sql.exec("UPDATE schema_version SET version = version - 4");
      migrateStorage(sql, (f) => state.storage.transactionSync(f));
    });
    await evictDurableObject(contractStub(site.contractId));
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(4, 4)));
    const [page] = await history(site, NOW_PLUS);
    expect({ from: page!.replayable_from, hwm: page!.hwm, seqs: page!.bundle.batches.map((b) => b.checkpoint.seq) }).toEqual({ from: 4, hwm: 4, seqs: [4] });
  });
});

const NOW_PLUS = at(27, 11);
