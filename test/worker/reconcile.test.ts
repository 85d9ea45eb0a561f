// Guarantee 5: D1 converges to the ContractDO, and the reconciler finds and repairs any difference
// (worker/contract/reconcile.ts, POST /v1/admin/contracts/:id/reconcile). D1 damage is real SQL
// against the real D1; D1 failure is the `records` table renamed away, as in outbox.test.ts.
import { describe, it, expect } from "vitest";
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { call, contractStub, enrolledSite, HOUR, NOW, ok, postBatch, SiteChain, type Site } from "./edge-fixture.ts";
import { drainAll, expectD1EqualsDO, outboxLength, projections, reconcile } from "./projection-check.ts";

const CLEAN = { missing: 0, different: 0, extra: 0, repaired: 0, unrepairable: 0, enqueued: 0, pending_outbox: 0 };

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
  it("after quiescence D1 equals the DO ledger row for row, and the reconciler finds nothing", async () => {
    const site = await busySite();
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
    const { want } = await projections(site.contractId);
    expect(want.records).toHaveLength(5);
    expect(want.units).toHaveLength(3); // the three rateable usage records
    expect(await reconcile(site.contractId)).toEqual({
      contract_id: site.contractId, checked: 5 + 3 + 1, ...CLEAN,
      tables: { records: { checked: 5, missing: 0, different: 0, extra: 0 }, interval_units: { checked: 3, missing: 0, different: 0, extra: 0 }, collectors: { checked: 1, missing: 0, different: 0, extra: 0 } },
    });
    expect(await outboxLength(site.contractId)).toBe(0);
  });

  it("a changed record, changed and deleted units rows, bogus rows and a wrong hwm are found and repaired; repairing twice is harmless", async () => {
    const site = await busySite();
    await drainAll(site.contractId);
    const c = site.contractId, col = site.collectorId;
    await env.DB.batch([
      env.DB.prepare("UPDATE records SET hash = ?, record_json = '{}' WHERE collector_id = ? AND seq = 2").bind("0".repeat(64), col),
      env.DB.prepare("DELETE FROM interval_units WHERE collector_id = ? AND seq = 5").bind(col),
      env.DB.prepare("UPDATE interval_units SET units_num = '7' WHERE collector_id = ? AND seq = 1").bind(col),
      env.DB.prepare("INSERT INTO records (collector_id, seq, contract_id, hash, kind, ts, received_at, record_json) VALUES (?, 99, ?, 'bogus', 'usage', 0, 0, '{}')").bind(col, c),
      env.DB.prepare("INSERT INTO interval_units (collector_id, seq, contract_id, session, units_num) VALUES ('col_bogus', 1, ?, 's', '1')").bind(c),
      env.DB.prepare("UPDATE collectors SET hwm = 42, flags_json = '[\"x\"]' WHERE id = ?").bind(col),
    ]);
    const found = {
      contract_id: c, checked: 6 + 4 + 1, missing: 1, different: 3, extra: 2, repaired: 6, unrepairable: 0, pending_outbox: 0,
      tables: { records: { checked: 6, missing: 0, different: 1, extra: 1 }, interval_units: { checked: 4, missing: 1, different: 1, extra: 1 }, collectors: { checked: 1, missing: 0, different: 1, extra: 0 } },
    };
    // Ranges: col 1–2 (rewrite), col 5 (insert), col 99 (delete), col_bogus 1 (delete), the collector row.
    expect(await reconcile(c)).toEqual({ ...found, enqueued: 2 + 1 + 2 + 2 + 1 });
    const queued = await runInDurableObject(contractStub(c), (_i, state) =>
      state.storage.sql.exec("SELECT topic, collector_id, from_seq, to_seq FROM outbox ORDER BY id").toArray());
    expect(queued).toEqual([
      { topic: "supersede", collector_id: col, from_seq: 1, to_seq: 2 }, { topic: "records", collector_id: col, from_seq: 1, to_seq: 2 },
      { topic: "records", collector_id: col, from_seq: 5, to_seq: 5 },
      { topic: "supersede", collector_id: col, from_seq: 99, to_seq: 99 }, { topic: "records", collector_id: col, from_seq: 99, to_seq: 99 },
      { topic: "supersede", collector_id: "col_bogus", from_seq: 1, to_seq: 1 }, { topic: "records", collector_id: "col_bogus", from_seq: 1, to_seq: 1 },
      { topic: "collector_exact", collector_id: col, from_seq: null, to_seq: null },
    ]);
    await drainAll(c);
    await expectD1EqualsDO(c);
    // The same repair applied a second time changes nothing.
    const repaired = await projections(c);
    await runInDurableObject(contractStub(c), (_i, state) => {
      for (const q of queued) state.storage.sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES (?, ?, ?, ?)", q.topic, q.collector_id, q.from_seq, q.to_seq);
    });
    await runInDurableObject(contractStub(c), async (instance) => { await instance.alarm(); });
    expect(await projections(c)).toEqual(repaired);
    await expectD1EqualsDO(c);
    expect((await env.DB.prepare("SELECT count(*) AS n FROM interval_units WHERE collector_id = 'col_bogus'").first())!.n).toBe(0);
    expect((await reconcile(c)).repaired).toBe(0);
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

  it("evicting the DO between alarm runs of a long drain still converges", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 12; i++) site.chain.usage({ session: `s${i % 3}`, start: NOW - 20 * HOUR + i * HOUR });
    for (let seq = 1; seq <= 12; seq += 2) await ok(await postBatch(site.collectorId, site.chain.batch(seq, seq + 1)));
    expect(await outboxLength(site.contractId)).toBe(12);
    expect(await runDurableObjectAlarm(contractStub(site.contractId))).toBe(true); // drains 8 rows per run
    expect(await outboxLength(site.contractId)).toBe(4);
    await evictDurableObject(contractStub(site.contractId));
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
    expect((await reconcile(site.contractId)).repaired).toBe(0);
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
    expect(have.units.map((u: any) => u.seq)).toEqual([1, 2, 3]); // with their interval units
    expect([want.chains[0]!.hwm, have.collectors[0]!.hwm]).toEqual([3, 5]);
    const report = await reconcile(site.contractId);
    expect([report.different, report.tables.collectors.different, report.enqueued]).toEqual([1, 1, 1]);
    await drainAll(site.contractId);
    await expectD1EqualsDO(site.contractId);
  });

  it("the route is the operator's alone, and an unknown contract is a 404", async () => {
    const site = await enrolledSite();
    expect((await call("POST", `/v1/admin/contracts/${site.contractId}/reconcile`, { token: site.vendor.api_key })).status).toBe(401);
    const res = await call("POST", "/v1/admin/contracts/ctr_doesnotexist00000000000/reconcile", { token: "test-admin-token" });
    expect(res.status).toBe(404);
  });
});
