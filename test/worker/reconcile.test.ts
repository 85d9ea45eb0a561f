// Guarantee 5: D1 converges to the ContractDO, and the reconciler finds and repairs any difference
// in bounded pages (worker/contract/reconcile.ts, POST /v1/admin/contracts/:id/reconcile). D1
// damage is real SQL against the real D1; D1 failure is the `records` table renamed away, as in
// outbox.test.ts.
import { describe, it, expect } from "vitest";
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { drainOutbox } from "../../worker/contract/outbox.ts";
import { call, contractStub, enrolledSite, HOUR, NOW, ok, postBatch, SiteChain, type Site } from "./edge-fixture.ts";
import { drainAll, expectD1EqualsDO, outboxLength, projections, reconcile, reconcileAll, walkTotals } from "./projection-check.ts";

const CLEAN = { missing: 0, different: 0, extra: 0, repaired: 0, unrepairable: 0, enqueued: 0 };

/** A site with usage (two sessions), a quarantined record and a heartbeat, in three batches. */
async function busySite(): Promise<Site> {
  const site = await enrolledSite();
  site.chain.usage({ feature: "MATLAB", session: "a", start: NOW - 5 * HOUR });
  site.chain.usage({ feature: "Simulink", session: "b", start: NOW - 4 * HOUR, count: 2 });
  site.chain.usage({ start: NOW, end: NOW - HOUR }); // quarantined
  site.chain.append({ kind: "heartbeat", data: { sources: [{ source: "flexlm", up: true, at: NOW - HOUR }] } });
  site.chain.usage({ feature: "MATLAB", session: "a", start: NOW - 3 * HOUR });
  await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
  await ok(await postBatch(site.collectorId, site.chain.batch(3, 4)));
  await ok(await postBatch(site.collectorId, site.chain.batch(5, 5)));
  return site;
}

describe("the reconciler (guarantee 5)", () => {
  it("after quiescence D1 equals the DO row for row, rollups included, and a walk finds nothing", async () => {
    const site = await busySite();
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
    const { want } = await projections(site.contractId);
    expect([want.records.length, want.facts.length, want.rollups.length]).toEqual([5, 3, 3]);
    const pages = await reconcileAll(site.contractId);
    expect(pages.map((p) => [p.phase, p.collector_id])).toEqual([
      ["collectors", null], ["records", site.collectorId], ["rollups", site.collectorId], ["rollups", site.collectorId],
    ]);
    expect(walkTotals(pages)).toEqual({ checked: 1 + 5 + 3 + 3, ...CLEAN });
    expect(pages[1].tables).toEqual({
      collectors: { checked: 0, missing: 0, different: 0, extra: 0 }, records: { checked: 5, missing: 0, different: 0, extra: 0 },
      usage_facts: { checked: 3, missing: 0, different: 0, extra: 0 }, usage_rollups: { checked: 0, missing: 0, different: 0, extra: 0 },
    });
    expect(await outboxLength(site.contractId)).toBe(0);
  });

  it("damaged records, facts, rollups and a collector row are found page by page and repaired; a second walk finds nothing", async () => {
    const site = await busySite();
    await drainAll(site.contractId);
    const c = site.contractId, col = site.collectorId;
    await env.DB.batch([
      env.DB.prepare("UPDATE records SET hash = ?, record_json = '{}' WHERE collector_id = ? AND seq = 2").bind("0".repeat(64), col),
      env.DB.prepare("DELETE FROM usage_facts WHERE collector_id = ? AND seq = 5").bind(col),
      env.DB.prepare("UPDATE usage_facts SET units_num = '7' WHERE collector_id = ? AND seq = 1").bind(col),
      env.DB.prepare("INSERT INTO records (collector_id, seq, contract_id, hash, kind, ts, received_at, record_json) VALUES (?, 99, ?, 'bogus', 'usage', 0, 0, '{}')").bind(col, c),
      env.DB.prepare(`INSERT INTO usage_facts (collector_id, seq, contract_id, kind, session, feature, product, user, host, start, "end", count, units_num, first)
        VALUES ('col_bogus', 1, ?, 'usage', 's', 'MATLAB', '', 'eve', 'h', ?, ?, 1, '1', 1)`).bind(c, NOW - 30 * HOUR, NOW - 29 * HOUR),
      env.DB.prepare("UPDATE usage_rollups SET units_num = '5', sessions = 9 WHERE contract_id = ? AND feature = 'Simulink'").bind(c),
      env.DB.prepare("INSERT INTO usage_rollups (contract_id, hour, collector_id, feature, product, user, host, day, license_s, units_num, sessions, denials) VALUES (?, ?, ?, 'Ghost', '', 'x', 'y', '2026-11-20', 60, '0', 0, 0)").bind(c, NOW - 200 * HOUR, col),
      env.DB.prepare("UPDATE collectors SET hwm = 42, flags_json = '[\"x\"]' WHERE id = ?").bind(col),
    ]);
    const pages = await reconcileAll(c, 2);
    // Records pages of 2 seqs: 1–2, 3–4, 5–6, …, up to seq 99 (the bogus row), for our collector; then col_bogus.
    const recordPages = pages.filter((p) => p.phase === "records");
    expect(recordPages.filter((p) => p.collector_id === col)).toHaveLength(50);
    expect(recordPages.map((p) => p.collector_id)).toContain("col_bogus");
    const sum = (phase: string, table: string, k: string) => pages.filter((p) => p.phase === phase).reduce((n, p) => n + p.tables[table][k], 0);
    expect({
      recordsDifferent: sum("records", "records", "different"), recordsExtra: sum("records", "records", "extra"),
      factsMissing: sum("records", "usage_facts", "missing"), factsDifferent: sum("records", "usage_facts", "different"), factsExtra: sum("records", "usage_facts", "extra"),
      collectorsDifferent: sum("collectors", "collectors", "different"),
    }).toEqual({ recordsDifferent: 1, recordsExtra: 1, factsMissing: 1, factsDifferent: 1, factsExtra: 1, collectorsDifferent: 1 });
    // The rollups are compared with D1's facts as they stand (still damaged): the ghost row and the
    // Simulink row, plus whatever the damaged facts imply; the drain then moves them by the difference.
    expect(sum("rollups", "usage_rollups", "extra")).toBeGreaterThanOrEqual(1);
    expect(sum("rollups", "usage_rollups", "different")).toBeGreaterThanOrEqual(1);
    expect(walkTotals(pages).unrepairable).toBe(0);
    await drainAll(c);
    await expectD1EqualsDO(c);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM usage_facts WHERE collector_id = 'col_bogus'").first())!.n).toBe(0);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM usage_rollups WHERE collector_id = 'col_bogus' OR feature = 'Ghost'").first())!.n).toBe(0);
    expect(walkTotals(await reconcileAll(c, 2))).toMatchObject(CLEAN);
  });

  it("every page does bounded work: a records page covers at most `limit` seqs, a rollups page 24 hours", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 30; i++) site.chain.usage({ session: `s${i % 4}`, start: NOW - 100 * HOUR + i * 3 * HOUR });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 30)));
    await drainAll(site.contractId);
    const pages = await reconcileAll(site.contractId, 7);
    const records = pages.filter((p) => p.phase === "records");
    expect(records.map((p) => p.tables.records.checked)).toEqual([7, 7, 7, 7, 2]);
    const rollups = pages.filter((p) => p.phase === "rollups" && p.tables.usage_rollups.checked > 0);
    expect(rollups.length).toBeGreaterThanOrEqual(4); // ~90 hours of usage, 24 hours a page
    for (const p of rollups) expect(p.tables.usage_rollups.checked).toBeLessThanOrEqual(24);
    expect(walkTotals(pages)).toMatchObject(CLEAN);
  });

  it("the alarm failing many runs in a row (past the runtime's alarm retries) still converges", async () => {
    const site = await busySite();
    await env.DB.exec("ALTER TABLE records RENAME TO records_away");
    let failures: number;
    try {
      for (let i = 0; i < 8; i++) expect(await runDurableObjectAlarm(contractStub(site.contractId))).toBe(true);
      failures = await runInDurableObject(contractStub(site.contractId), (_i, state) =>
        state.storage.sql.exec<{ failures: number }>("SELECT failures FROM drain_state").one().failures);
    } finally {
      await env.DB.exec("ALTER TABLE records_away RENAME TO records");
    }
    expect(failures).toBeGreaterThanOrEqual(8); // the runtime may also have run one on its own
    expect(await outboxLength(site.contractId)).toBe(6); // 3 batches × (records, collector): nothing lost
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
  });

  it("evicting the DO in the middle of a long range's drain still converges", { timeout: 60_000 }, async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 1200; i++) site.chain.usage({ session: `s${i % 40}`, start: NOW - 100 * HOUR + i * 240_000, end: NOW - 100 * HOUR + i * 240_000 + 240_000 });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1200)));
    await runInDurableObject(contractStub(site.contractId), async (_i, state) => {
      await drainOutbox(state.storage.sql, env.DB, site.contractId, 500); // one page: seqs 1–500
      expect(state.storage.sql.exec("SELECT topic, from_seq, to_seq FROM outbox ORDER BY id").toArray()[0]).toEqual({ topic: "records", from_seq: 501, to_seq: 1200 });
    });
    await evictDurableObject(contractStub(site.contractId));
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
    expect(walkTotals(await reconcileAll(site.contractId))).toMatchObject(CLEAN);
  });

  it("a resolved fork lowers the hwm: the drain keeps D1's higher hwm (max), the reconciler sets it exactly", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 5; i++) site.chain.usage({ start: NOW - 10 * HOUR + i * HOUR });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 5)));
    await drainAll(site.contractId);
    const branch = new SiteChain(site.collectorId, site.keys.secretKey);
    branch.records.push(...site.chain.records.slice(0, 3));
    branch.usage({ start: NOW - 5 * HOUR, count: 2, session: "new" });
    expect((await postBatch(site.collectorId, branch.batch(3, 4))).status).toBe(409);
    await ok(await call("POST", `/v1/collectors/${site.collectorId}/resolve`, { token: site.vendor.api_key, now: NOW + HOUR }));
    await drainAll(site.contractId);
    const { want, have } = await projections(site.contractId);
    expect(have.records.map((r: any) => r.seq)).toEqual([1, 2, 3]); // the old branch's 4 and 5 left D1
    expect(have.facts.map((u: any) => u.seq)).toEqual([1, 2, 3]); // with their usage facts
    expect(have.rollups).toEqual(want.rollups); // and their hours
    expect([want.chains[0]!.hwm, have.collectors[0]!.hwm]).toEqual([3, 5]);
    const [first] = await reconcileAll(site.contractId);
    expect([first.phase, first.different, first.tables.collectors.different, first.enqueued]).toEqual(["collectors", 1, 1, 1]);
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
  });

  it("the route is the operator's alone; an unknown contract is a 404, a foreign cursor a 422", async () => {
    const site = await enrolledSite();
    expect((await call("POST", `/v1/admin/contracts/${site.contractId}/reconcile`, { token: site.vendor.api_key })).status).toBe(401);
    expect((await call("POST", "/v1/admin/contracts/ctr_doesnotexist00000000000/reconcile", { token: "test-admin-token" })).status).toBe(404);
    const bad = await call("POST", `/v1/admin/contracts/${site.contractId}/reconcile?cursor=bm9wZQ`, { token: "test-admin-token" });
    expect({ status: bad.status, body: await bad.json() }).toMatchObject({ status: 422, body: { error: "invalid_request", field: "query.cursor" } });
  });
});
