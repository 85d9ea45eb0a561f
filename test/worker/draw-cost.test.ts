// Draws at real size (DESIGN.md §6 "Cost at scale"): rating a batch of use windows and checkouts,
// and reading the balance after it, read as many rows with 10,000 past draws as with 100 — also
// when one user has hundreds of uses in each window and the batch brings late uses into the
// middle of a key's history. Measured as rows read (SQLite's `rowsRead`), never as time.
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { LiveLedger, LiveStatements, pricingTerms, type UsageInterval } from "../../shared/pricing/index.ts";
import { SqlLiveStore } from "../../worker/contract/sql-live-store.ts";
import { contractStub } from "./edge-fixture.ts";
import { HOUR, NOW, planOf, PRICE, pricedContract } from "./pricing-fixture.ts";

const PLAN = planOf("pay_per_use", { price: PRICE, rates: { CAD: { per: "use_window", units: "7" }, SOLVER: { per: "checkout", units: "3" }, "*": "1" } });
const NOV_1 = Date.UTC(2026, 10, 1);

/** A SqlStorage that sums the rows its statements read. */
function watched(sql: SqlStorage): { sql: SqlStorage; take: () => number } {
  let cursors: Array<SqlStorageCursor<Record<string, SqlStorageValue>>> = [];
  return {
    sql: { exec: (query: string, ...args: SqlStorageValue[]) => { const c = sql.exec(query, ...args); cursors.push(c); return c; } } as unknown as SqlStorage,
    take: () => { const n = cursors.reduce((s, c) => s + c.rowsRead, 0); cursors = []; return n; },
  };
}

/** Rows read by a batch of 22 uses (2 of them late, inside the history) and by the balance after it. */
async function measure(history: number, users: number): Promise<{ apply: number; read: number }> {
  const c = await pricedContract(PLAN, { start: "2026-01-01" });
  return runInDurableObject(contractStub(c.id), (_i, state) => {
    const w = watched(state.storage.sql);
    const store = new SqlLiveStore(w.sql);
    const grants = [1, 2, 3].map((i) => ({ id: `g${i}`, amount: "1000", created_at: Date.UTC(2026, 0, 1), effective_at: null, expires_at: null }));
    const ledger = new LiveLedger(store, pricingTerms({ start: "2026-01-01", timezone: "Europe/Berlin", period: "month", statement_grace_h: 72 }, c.plans, grants));
    const figures = new LiveStatements(ledger);
    const iv = (seq: number, user: string, feature: string, start: number): UsageInterval => ({
      ref: `col_x:${seq}`, session: `col_x:s${seq}`, feature, start, end: start + HOUR, count: 1, received_at: NOW, user, host: "h", site: "col_x",
    });
    const span = NOW - 10 * HOUR - NOV_1;
    const past = Array.from({ length: history }, (_, i) => iv(i + 1, `u${i % users}`, i % 3 === 0 ? "SOLVER" : "CAD", NOV_1 + Math.floor((i / history) * span)));
    for (let i = 0; i < past.length; i += 500) { store.openSessions(past.slice(i, i + 500)); ledger.add(past.slice(i, i + 500)); store.flush(); }
    figures.balance(NOW);
    w.take();
    const batch = Array.from({ length: 20 }, (_, i) => iv(history + 1 + i, `u${i % users}`, i % 2 ? "SOLVER" : "CAD", NOW - 5 * HOUR + i * 60_000));
    batch.push(iv(history + 21, "u0", "CAD", Date.UTC(2026, 10, 13, 7, 30)), iv(history + 22, "u0", "SOLVER", Date.UTC(2026, 10, 13, 7, 30)));
    store.openSessions(batch);
    ledger.add(batch);
    store.flush();
    const apply = w.take();
    figures.balance(NOW);
    return { apply, read: w.take() };
  });
}

describe("draws at real size", () => {
  it("a batch and the balance after it read no more rows with 10,000 past draws than with 100, nor with one user's crowded windows", { timeout: 600_000 }, async () => {
    const small = await measure(100, 50);
    const big = await measure(10_000, 50);
    const crowded = await measure(10_000, 1);
    console.log(`[draw-cost] rows read (batch, balance): 100 draws ${small.apply}, ${small.read}; 10,000 ${big.apply}, ${big.read}; one user ${crowded.apply}, ${crowded.read}`);
    for (const m of [big, crowded]) {
      expect(m.apply).toBeLessThanOrEqual(small.apply * 1.5);
      expect(m.read).toBeLessThanOrEqual(small.read * 1.5);
    }
  });
});
