// Paging that costs what the page holds (DESIGN.md §6 "Cost at scale"): a cursor must seek its
// index, so the next page never reads the rows the pages before it already covered. Measured as
// rows read — SQLite's own count (DO cursors' `rowsRead`, D1's `meta.rows_read`), the figure
// Cloudflare bills — never as time: a scan past the cursor shows as rows read that grow with the
// history behind the cursor.
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { SqlLiveStore } from "../../worker/contract/sql-live-store.ts";
import { contractStub } from "./edge-fixture.ts";
import { appendUsage, HOUR, planOf, PRICE, pricedContract, send } from "./pricing-fixture.ts";

const NOV_1 = Date.UTC(2026, 10, 1);
const MINUTE = 60_000;

/** A SqlStorage that remembers the cursor of its last statement. */
function watched(sql: SqlStorage): { sql: SqlStorage; last: () => SqlStorageCursor<Record<string, SqlStorageValue>> } {
  let last: SqlStorageCursor<Record<string, SqlStorageValue>> | undefined;
  return {
    sql: { exec: (query: string, ...args: SqlStorageValue[]) => (last = sql.exec(query, ...args)) } as unknown as SqlStorage,
    last: () => last!,
  };
}

describe("a re-rating job's chunks", () => {
  it("a chunk reads the intervals after the job's cursor, not those the chunks before it visited", async () => {
    const c = await pricedContract(planOf("pay_per_use", { price: PRICE }));
    const site = c.sites[0]!;
    // 3,000 intervals, each its own session, ending 10 minutes apart.
    const N = 3000;
    for (let i = 0; i < N; i++) {
      const start = NOV_1 + i * 10 * MINUTE;
      appendUsage(site, { session: `s-${i}`, start, end: start + 5 * MINUTE }, start + 5 * MINUTE);
    }
    await send(c, site);
    const reads = await runInDurableObject(contractStub(c.id), (_i, state) => {
      const w = watched(state.storage.sql);
      const store = new SqlLiveStore(w.sql);
      const all = store.overlapping(NOV_1 - HOUR, null, null, N);
      const after = all[N - 100]!;
      const page = store.overlapping(NOV_1 - HOUR, null, { end: after.end, ref: after.ref }, 50);
      return { all: all.length, page: page.map((iv) => iv.ref), first: all[N - 99]!.ref, rowsRead: w.last().rowsRead };
    });
    expect(reads.all).toBe(N);
    expect(reads.page).toHaveLength(50);
    expect(reads.page[0]).toBe(reads.first);
    // Per interval of the page: its index entry, its row and its session (a few more at the page's
    // edge); a scan from the job's start read every interval before the cursor as well (3,053).
    expect(reads.rowsRead).toBeLessThanOrEqual(3 * 50 + 5);
  });
});
