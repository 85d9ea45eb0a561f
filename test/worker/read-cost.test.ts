// What the customer status page, the sites list and the open statement cost in the ContractDO as
// history grows: rows read by SQLite (cursor.rowsRead) for balance (on a woken DO and a warm one),
// the open statement and the enforcement list, at 1,000 and at 4,000 records of history in the open period.
import { describe, it, expect } from "vitest";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import type { ContractDO } from "../../worker/contract/contract-do.ts";
import { contractStub, NOW, HOUR } from "./edge-fixture.ts";
import { appendUsage, planOf, PRICE, pricedContract, send } from "./pricing-fixture.ts";
import { drainAll } from "./projection-check.ts";

/** Rows read by every statement `read` runs on the DO's SQLite. */
async function rowsReadBy(id: string, read: (instance: ContractDO) => unknown): Promise<number> {
  return runInDurableObject(contractStub(id), async (instance: ContractDO, state) => {
    const sql = state.storage.sql;
    const exec = sql.exec;
    const cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
    (sql as { exec: unknown }).exec = (query: string, ...args: SqlStorageValue[]) => { const c = exec.call(sql, query, ...args); cursors.push(c); return c; };
    try { await read(instance); } finally { (sql as { exec: unknown }).exec = exec; }
    return cursors.reduce((n, c) => n + c.rowsRead, 0);
  });
}

describe("per-request reads of the ContractDO do not grow with history", () => {
  it("balance (29 rows read woken, 15 warm), open statement (14) and enforcement (1): the same at 1,000 and 4,000 records", { timeout: 300_000 }, async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    const site = c.sites[0]!;
    let n = 0;
    const history = async (records: number) => {
      for (let i = 0; i < records; i++, n++) appendUsage(site, { session: `s${n}`, user: `u${n % 300}`, feature: n % 2 ? "MATLAB" : "Simulink", start: NOW - 600 * HOUR + (n % 590) * HOUR, end: NOW - 600 * HOUR + (n % 590) * HOUR + 1800_000 });
      await send(c, site);
      await drainAll(c.id);
    };
    const measure = async () => ({
      // A woken DO builds its ledger on the first read: measured after an eviction too.
      cold: await evictDurableObject(contractStub(c.id)).then(() => rowsReadBy(c.id, (i) => i.balance(NOW))),
      balance: await rowsReadBy(c.id, (i) => i.balance(NOW)),
      statement: await rowsReadBy(c.id, (i) => i.statement(undefined, NOW)),
      enforcement: await rowsReadBy(c.id, (i) => i.enforcement(10)),
    });
    await history(1000);
    const small = await measure();
    await history(3000);
    const large = await measure();
    console.log(`[rows read] at 1,000 records ${JSON.stringify(small)}; at 4,000 ${JSON.stringify(large)}`);
    for (const k of ["cold", "balance", "statement", "enforcement"] as const) expect(large[k], k).toBeLessThanOrEqual(small[k] * 1.25 + 50);
  });
});
