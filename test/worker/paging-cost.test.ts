// Paging that costs what the page holds (DESIGN.md §6 "Cost at scale"): a cursor must seek its
// index, so the next page never reads the rows the pages before it already covered. Measured as
// rows read — SQLite's own count (DO cursors' `rowsRead`, D1's `meta.rows_read`), the figure
// Cloudflare bills — never as time: a scan past the cursor shows as rows read that grow with the
// history behind the cursor.
import { beforeAll, describe, expect, it } from "vitest";
import { env, runInDurableObject } from "cloudflare:test";
import type { SQLWrapper } from "drizzle-orm";
import { database } from "../../worker/db/database.ts";
import { quarantinedQuery } from "../../worker/routes/contract-collectors.ts";
import { exportRecordsQuery } from "../../worker/routes/contract-export.ts";
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

/** Runs a drizzle query as built by the route, answering its rows and D1's rows read. */
async function measured(query: { toSQL(): { sql: string; params: unknown[] } }): Promise<{ rows: Record<string, unknown>[]; rowsRead: number }> {
  const { sql, params } = query.toSQL();
  const answer = await env.DB.prepare(sql).bind(...params).all();
  return { rows: answer.results, rowsRead: answer.meta.rows_read };
}

/** `n` records of one site in the D1 projection, every `quarantineEvery`-th quarantined. */
async function projectedRecords(contractId: string, collectorId: string, n: number, quarantineEvery: number): Promise<void> {
  const rows = Array.from({ length: n }, (_, i) => [i + 1, (i + 1) % quarantineEvery === 0 ? "out of the contract's scope" : null]);
  await env.DB.prepare(`INSERT INTO records (collector_id, seq, contract_id, hash, kind, ts, received_at, quarantine, record_json)
    SELECT ?1, json_extract(value, '$[0]'), ?2, 'h', 'usage', 1, 2, json_extract(value, '$[1]'), '{}' FROM json_each(?3)`)
    .bind(collectorId, contractId, JSON.stringify(rows)).run();
}

describe("the D1 projection's record pages", () => {
  const CONTRACT = "ctr_00000000000000000000000000000001";
  const SITE_A = "col_0000000000000000000000000000000a";
  const SITE_B = "col_0000000000000000000000000000000b";
  beforeAll(async () => {
    await projectedRecords(CONTRACT, SITE_A, 3000, 1000);
    await projectedRecords(CONTRACT, SITE_B, 100, 1000);
  });

  it("an export page after a cursor reads its own records, not the site's records before the cursor", async () => {
    const page = await measured(exportRecordsQuery(database(env.DB), CONTRACT, { collectorId: SITE_A, seq: 2950 }, 101));
    expect(page.rows.map((r) => `${r.collector_id}:${r.seq}`)).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `${SITE_A}:${2951 + i}`), ...Array.from({ length: 51 }, (_, i) => `${SITE_B}:${i + 1}`),
    ]);
    // An index entry and a row per record listed; before, every record of site A was read and its
    // last 50 sorted (3,000 and more).
    expect(page.rowsRead).toBeLessThanOrEqual(2 * 101 + 5);
  });

  it("counting a site's quarantined records reads those records only", async () => {
    const counted = await measured(quarantinedQuery(database(env.DB), CONTRACT, [SITE_A, SITE_B]));
    expect(counted.rows.map((r) => Object.values(r))).toEqual([[SITE_A, 3]]);
    // Before, every record of both sites was read (3,100).
    expect(counted.rowsRead).toBeLessThanOrEqual(3 + 5);
  });
});
