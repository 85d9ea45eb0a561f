// The D1 projection (DESIGN.md §2): the DO's alarm drains its outbox into D1 with idempotent
// upserts, keeps rows when D1 fails and retries until D1 holds exactly the DO's records.
// D1 failure is real: the `records` table is renamed away, so the drain's batch() fails in D1.
import { describe, it, expect } from "vitest";
import worker from "../../worker/index.ts";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { call, contractStub, d1State, doState, enrolledSite, HOUR, NOW, ok, postBatch, settle, type Site } from "./edge-fixture.ts";
import { drainAll, expectD1EqualsDO, outboxLength } from "./projection-check.ts";
import { DRAIN_DELAY_MS, drainDelayMs } from "../../worker/contract/contract-alarm.ts";

/** D1's rows for the contract, compared with what the DO stored. */
async function expectD1MatchesDO(site: Site) {
  const state = await doState(site.contractId);
  const d1 = await d1State(site.contractId);
  const pick = (r: any) => ({ collector_id: r.collector_id, seq: r.seq, hash: r.hash, kind: r.kind, record_json: r.record_json, received_at: r.received_at, quarantine: r.quarantine });
  expect(d1.records.map(pick)).toEqual(state.records.map(pick));
  expect(d1.collectors).toEqual(state.chains.map((c: any) => ({ id: c.collector_id, hwm: c.hwm, last_sync: c.last_sync, flags_json: c.flags_json })));
  expect(state.outbox).toEqual([]);
  return d1;
}

describe("outbox to D1", () => {
  it("after the alarm, D1 holds exactly the DO's records, with usage fields extracted", async () => {
    const site = await enrolledSite();
    site.chain.usage({ feature: "MATLAB", user: "ada", count: 2 });
    site.chain.usage({ start: NOW, end: NOW - HOUR }); // quarantined
    site.chain.append({ kind: "heartbeat", data: { sources: [{ source: "flexlm", up: true, at: NOW - HOUR }] } });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    await ok(await postBatch(site.collectorId, site.chain.batch(3, 3), { now: NOW + 1000 }));
    await settle(site.contractId);
    const d1 = await expectD1MatchesDO(site);
    expect(d1.records.map((r: any) => [r.seq, r.kind, r.feature, r.user, r.start, r.end, r.count, r.quarantine === null])).toEqual([
      [1, "usage", "MATLAB", "ada", NOW - 2 * HOUR, NOW - HOUR, 2, true],
      [2, "usage", "MATLAB", "ada", NOW, NOW - HOUR, 1, false],
      [3, "heartbeat", null, null, null, null, null, true],
    ]);
    expect(d1.collectors).toEqual([{ id: site.collectorId, hwm: 3, last_sync: NOW + 1000, flags_json: "[]" }]);
  });

  it("a batch of 1,200 records drains in bounded pages (rows as one JSON value per statement, never 100+ bound parameters)", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 1200; i++) site.chain.usage({ start: NOW - 20 * HOUR + i * 60_000, session: `s${i}` });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1200)));
    await drainAll(site.contractId);
    const d1 = await expectD1MatchesDO(site);
    expect(d1.records).toHaveLength(1200);
    await expectD1EqualsDO(site.contractId);
  });

  it("when D1 fails, the rows stay in the outbox, the alarm re-arms, and a later drain converges", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    site.chain.usage();
    await env.DB.exec("ALTER TABLE records RENAME TO records_away");
    try {
      await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
      await runDurableObjectAlarm(contractStub(site.contractId));
      const failed = await runInDurableObject(contractStub(site.contractId), async (_i, state) => ({
        outbox: state.storage.sql.exec("SELECT topic, from_seq, to_seq FROM outbox ORDER BY id").toArray(),
        failures: state.storage.sql.exec<{ failures: number }>("SELECT failures FROM drain_state").one().failures,
        alarm: await state.storage.getAlarm(),
      }));
      expect(failed.outbox).toEqual([{ topic: "records", from_seq: 1, to_seq: 2 }, { topic: "collector", from_seq: null, to_seq: null }]);
      expect(failed.failures).toBeGreaterThanOrEqual(1);
      expect(failed.alarm).not.toBeNull();
    } finally {
      await env.DB.exec("ALTER TABLE records_away RENAME TO records");
    }
    await settle(site.contractId);
    await expectD1MatchesDO(site);
    await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      expect(state.storage.sql.exec("SELECT failures FROM drain_state").one()).toEqual({ failures: 0 });
    });
  });

  it("draining the same records twice leaves D1 unchanged (upserts are idempotent)", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    await settle(site.contractId);
    const once = await d1State(site.contractId);
    await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      state.storage.sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('records', ?, 1, 1), ('collector', ?, NULL, NULL)", site.collectorId, site.collectorId);
    });
    await runInDurableObject(contractStub(site.contractId), async (instance) => { await instance.alarm(); });
    expect(await d1State(site.contractId)).toEqual(once);
    await expectD1MatchesDO(site);
  });

  it("an equivocation flag reaches the collector row in D1", async () => {
    const site = await enrolledSite();
    site.chain.usage();
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1)));
    const fork = new (site.chain.constructor as any)(site.collectorId, site.keys.secretKey);
    fork.usage({ count: 3 });
    expect((await postBatch(site.collectorId, fork.batch(1, 1))).status).toBe(409);
    await settle(site.contractId);
    const d1 = await expectD1MatchesDO(site);
    expect(d1.collectors[0]).toMatchObject({ flags_json: '["equivocation"]', hwm: 1 });
  });
});

describe("the drain's delay and the benchmark's drain", () => {
  it("waits DRAIN_DELAY_MS after a write; TALLY_DRAIN_DELAY_MS changes it in development and test only, and a bad value throws", () => {
    expect(drainDelayMs({ TALLY_ENV: "production" })).toBe(DRAIN_DELAY_MS);
    expect(drainDelayMs({ TALLY_ENV: "test", TALLY_DRAIN_DELAY_MS: "" })).toBe(DRAIN_DELAY_MS);
    expect(drainDelayMs({ TALLY_ENV: "development", TALLY_DRAIN_DELAY_MS: "3600000" })).toBe(3_600_000);
    expect(drainDelayMs({ TALLY_ENV: "test", TALLY_DRAIN_DELAY_MS: "0" })).toBe(0);
    expect(() => drainDelayMs({ TALLY_ENV: "production", TALLY_DRAIN_DELAY_MS: "5000" })).toThrow(/only accepted in development and test/);
    for (const bad of ["-1", "1e3", "1.5", " 10", "86400001"]) expect(() => drainDelayMs({ TALLY_ENV: "test", TALLY_DRAIN_DELAY_MS: bad })).toThrow(/integer ms/);
  });

  it("POST /__dev/contracts/:id/drain drains the whole outbox into D1 at once (refused in production)", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 1500; i++) site.chain.usage({ start: NOW - 30 * HOUR + i * 60_000, session: `s${i % 40}` });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 1500)));
    expect(await outboxLength(site.contractId)).toBeGreaterThan(0);
    expect(await ok(await call("POST", `/__dev/contracts/${site.contractId}/drain`))).toEqual({ remaining: 0 });
    expect(await outboxLength(site.contractId)).toBe(0);
    await expectD1MatchesDO(site);
    await expectD1EqualsDO(site.contractId);
    const production = await worker.fetch(new Request(`http://edge.test/__dev/contracts/${site.contractId}/drain`, { method: "POST" }), { ...env, TALLY_ENV: "production" }, {} as ExecutionContext);
    expect(production.status).toBe(404);
  });
});
