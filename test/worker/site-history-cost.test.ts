// What moving a long history costs the target edge per request (docs/self-hosting.md "Moving
// between edges"): each `POST …/collectors/:cid/replay` page is applied batch by batch, and a
// page's rows read and written must not grow with the history the target already holds — a
// million-record site is replayed in thousands of pages, each within a request's CPU and memory.
// Counted as SQLite's own rows (`rowsRead`, `rowsWritten` on the DO's cursors), never as time.
import { describe, expect, it } from "vitest";
import { env, runInDurableObject } from "cloudflare:test";
import type { Batch } from "../../shared/protocol/index.ts";
import { call, contractStub, createContract, createVendor, enrolledSite, ok, postBatch, settle } from "./edge-fixture.ts";

const at = (d: number, h = 10) => Date.UTC(2026, 10, d, h);
const T = at(28);
const BATCHES = 90, SLICE = 30;

interface HistoryPage { bundle: { format: string; collector_id: string; batches: Batch[] }; received_at_ms: number[]; next_after_seq: number | null }

/** Counts the rows every statement of the DO's storage reads and writes, from now on. */
async function watchRows(contractId: string): Promise<() => { read: number; written: number }> {
  const cursors: Array<{ rowsRead: number; rowsWritten: number }> = [];
  await runInDurableObject(contractStub(contractId), (_i, state) => {
    const sql = state.storage.sql as unknown as { exec: (...a: unknown[]) => { rowsRead: number; rowsWritten: number } };
    const exec = sql.exec.bind(sql);
    sql.exec = (...a) => { const c = exec(...a); cursors.push(c); return c; };
  });
  return () => {
    const n = { read: cursors.reduce((s, c) => s + c.rowsRead, 0), written: cursors.reduce((s, c) => s + c.rowsWritten, 0) };
    cursors.length = 0;
    return n;
  };
}

describe("replaying a long history", () => {
  it("each replayed page costs the target the same rows, however much history it already holds", async () => {
    const site = await enrolledSite();
    for (let i = 1; i <= BATCHES; i++) {
      // Sessions spread over the month, a few per batch (each batch also a checkpoint row).
      site.chain.usage({ start: at(1) + i * 6 * 3600_000, end: at(1) + i * 6 * 3600_000 + 1800_000 });
      await ok(await postBatch(site.collectorId, site.chain.batch(i, i), { now: at(1) + i * 6 * 3600_000 + 3600_000 }));
    }
    const page = await ok<HistoryPage>(await call("GET", `/v1/contracts/${site.contractId}/collectors/${site.collectorId}/history?after_seq=0`, { token: site.vendor.api_key, now: T }));
    expect(page.bundle.batches).toHaveLength(BATCHES);

    // The target: another contract of another vendor, the source's directory rows gone (one D1).
    await settle(site.contractId);
    await env.DB.batch(["records", "usage_facts", "collectors"].map((table) =>
      env.DB.prepare(`DELETE FROM ${table} WHERE ${table === "collectors" ? "id" : "collector_id"} = ?`).bind(site.collectorId)));
    const vendor = await createVendor("Target Vendor");
    const contract = await createContract(vendor);
    await ok(await call("PUT", `/v1/contracts/${contract.id}/collectors/${site.collectorId}`, { token: vendor.api_key, now: T, body: { public_key: site.keys.publicKey, site: "plant-7", history_to_seq: BATCHES } }), 201);
    const rows = await watchRows(contract.id);
    const costs = [];
    for (let from = 0; from < BATCHES; from += SLICE) {
      const slice = { ...page, bundle: { ...page.bundle, batches: page.bundle.batches.slice(from, from + SLICE) }, received_at_ms: page.received_at_ms.slice(from, from + SLICE) };
      rows();
      const answer = await ok(await call("POST", `/v1/contracts/${contract.id}/collectors/${site.collectorId}/replay`, { token: vendor.api_key, now: T, body: slice }));
      expect(answer.receipts.at(-1).receipt.acked_seq).toBe(from + SLICE);
      costs.push(rows());
    }
    // Measured: ~930 rows read, ~515 written per 30-batch page, first and last alike.
    const [first, , last] = costs;
    // The last page lands on 60 batches of history, the first on none: the same work per batch.
    expect(last!.read).toBeLessThanOrEqual(first!.read * 1.2 + 20);
    expect(last!.written).toBeLessThanOrEqual(first!.written * 1.2 + 20);
  });
});
