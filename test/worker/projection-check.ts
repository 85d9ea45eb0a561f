// Test helpers for the D1 projection: drain a contract's outbox to the end through the real alarm,
// and assert that D1 holds exactly the DO's rows — records (every column), interval units
// (summed from the DO's rated pieces, independently of worker/contract/reconcile.ts) and the
// collectors' sync columns.
import { expect } from "vitest";
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { call, contractStub, ADMIN_TOKEN, ok } from "./edge-fixture.ts";

export async function outboxLength(contractId: string): Promise<number> {
  return runInDurableObject(contractStub(contractId), (_i, state) =>
    state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n);
}

/** Runs the alarm until the outbox is empty; returns how many runs it took. */
export async function drainAll(contractId: string): Promise<number> {
  let runs = 0;
  while (await outboxLength(contractId) > 0) {
    if (runs++ > 100) throw new Error("outbox never drained");
    // false: no alarm armed — fine only if the runtime's own alarm emptied the outbox meanwhile.
    if (!await runDurableObjectAlarm(contractStub(contractId)) && await outboxLength(contractId) > 0) throw new Error("outbox has rows but no alarm is armed");
  }
  return runs;
}

export async function reconcile(contractId: string): Promise<any> {
  return ok(await call("POST", `/v1/admin/contracts/${contractId}/reconcile`, { token: ADMIN_TOKEN }));
}

/** The D1 rows of the contract, sorted, and the same rows as the DO ledger says they must be. */
export async function projections(contractId: string) {
  const want = await runInDurableObject(contractStub(contractId), (_i, state) => {
    const sql = state.storage.sql;
    const records = sql.exec("SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine FROM records ORDER BY collector_id, seq").toArray();
    const units = sql.exec<{ collector_id: string; seq: number; session: string; units: string | null }>(
      `SELECT c.collector_id, i.seq, c.collector_id || ':' || s.name AS session, p.units FROM usage_intervals i JOIN rating_sources c ON c.no = i.source_no
       JOIN rating_sessions s ON s.id = i.session_id LEFT JOIN rated_pieces p ON p.source_no = i.source_no AND p.seq = i.seq ORDER BY c.collector_id, i.seq`).toArray();
    const summed: Array<{ collector_id: string; seq: number; session: string; units_num: string }> = [];
    for (const u of units) {
      const last = summed[summed.length - 1];
      if (last && last.collector_id === u.collector_id && last.seq === u.seq) last.units_num = (BigInt(last.units_num) + BigInt(u.units ?? 0)).toString();
      else summed.push({ collector_id: u.collector_id, seq: u.seq, session: u.session, units_num: BigInt(u.units ?? 0).toString() });
    }
    const chains = sql.exec("SELECT collector_id AS id, hwm, last_sync, flags_json FROM chains ORDER BY collector_id").toArray();
    return { records, units: summed, chains };
  });
  const d1 = async (q: string) => (await env.DB.prepare(q).bind(contractId).all()).results;
  const have = {
    records: await d1("SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine, contract_id FROM records WHERE contract_id = ?1 OR collector_id IN (SELECT id FROM collectors WHERE contract_id = ?1) ORDER BY collector_id, seq"),
    units: await d1("SELECT collector_id, seq, session, units_num, contract_id FROM interval_units WHERE contract_id = ?1 OR collector_id IN (SELECT id FROM collectors WHERE contract_id = ?1) ORDER BY collector_id, seq"),
    collectors: await d1("SELECT id, hwm, last_sync, flags_json FROM collectors WHERE contract_id = ? ORDER BY id"),
  };
  return { want, have };
}

/** D1 equals the DO ledger exactly (full row sets), and nothing is left to drain. */
export async function expectD1EqualsDO(contractId: string): Promise<void> {
  const { want, have } = await projections(contractId);
  expect(have.records).toEqual(want.records.map((r) => ({ ...r, contract_id: contractId })));
  expect(have.units).toEqual(want.units.map((u) => ({ ...u, contract_id: contractId })));
  expect(have.collectors).toEqual(want.chains);
  expect(await outboxLength(contractId)).toBe(0);
}
