// Queries the ContractDO runs on every alarm or fold read through their index, not through a
// table that keeps the contract's whole history (DESIGN.md §6 "Cost at scale"). Measured as rows
// read — SQLite's own count on the cursor (`rowsRead`, what Cloudflare bills) — never as time.
import { describe, expect, it } from "vitest";
import { env, runInDurableObject } from "cloudflare:test";
import { edgeKey } from "../../worker/auth/edge-key.ts";
import { saveAlertConfig } from "../../worker/contract/alerts.ts";
import { SqlLiveStore } from "../../worker/contract/sql-live-store.ts";
import { deliverDueEvents } from "../../worker/contract/webhooks.ts";
import { checkNotices, GRANT_EXPIRING_LEAD_MS, nextNoticeAt } from "../../worker/contract/notices.ts";
import { loadTerms } from "../../worker/contract/terms.ts";
import { contractStub, enrolledSite, NOW } from "./edge-fixture.ts";

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** A SqlStorage that remembers each statement's cursor. */
function watched(sql: SqlStorage): { sql: SqlStorage; rowsRead: (prefix: string) => number } {
  const cursors: Array<{ query: string; cursor: SqlStorageCursor<Record<string, SqlStorageValue>> }> = [];
  return {
    sql: { exec: (query: string, ...args: SqlStorageValue[]) => { const cursor = sql.exec(query, ...args); cursors.push({ query, cursor }); return cursor; } } as unknown as SqlStorage,
    rowsRead: (prefix) => cursors.filter((c) => c.query.trimStart().startsWith(prefix)).reduce((n, c) => n + c.cursor.rowsRead, 0),
  };
}

describe("the DO's history tables are read through an index", () => {
  it("delivering webhooks reads the pending events, not every event ever delivered", async () => {
    const site = await enrolledSite();
    const read = await runInDurableObject(contractStub(site.contractId), async (_i, state) => {
      const sql = state.storage.sql;
      saveAlertConfig(sql, { webhook_url: "https://hooks.example/tally", low_thresholds_pct: [20] }, NOW);
      // 3,000 events delivered over the contract's life, then 2 due now.
      sql.exec(`INSERT INTO events (event_id, type, body, created_at, attempts, next_attempt_at, delivered_at)
        SELECT 'evt_old_' || value, 'site.stale', '{}', 0, 1, 0, 1 FROM json_each(?)`, JSON.stringify(range(1, 3000)));
      sql.exec("INSERT INTO events (event_id, type, body, created_at, next_attempt_at) VALUES ('evt_a', 'balance.low', '{}', ?, 0), ('evt_b', 'balance.low', '{}', ?, 0)", NOW, NOW);
      const w = watched(sql);
      const sent: string[] = [];
      await deliverDueEvents(w.sql, edgeKey(env.EDGE_SIGNING_KEY), async (_url, init) => { sent.push((init.headers as Record<string, string>)["Tally-Event-Id"]!); return new Response(null, { status: 204 }); }, NOW);
      return { sent, rowsRead: w.rowsRead("SELECT seq, event_id") };
    });
    expect(read.sent).toEqual(["evt_a", "evt_b"]);
    // The two pending events (index entry and row each); before, the whole table (3,002).
    expect(read.rowsRead).toBeLessThanOrEqual(2 * 2 + 2);
  });

  it("finding the first period with late arrivals reads the buckets that arrived in the span, not every period's", async () => {
    const site = await enrolledSite();
    const read = await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      const sql = state.storage.sql;
      // 300 periods × 10 features, each bucket arrived in its own period; one late bucket of period 120 arrived in 299.
      sql.exec(`INSERT INTO usage_buckets (period, segment, arrival, feature, license_ms, billed_ms, units, rated, pieces)
        SELECT p.value, p.value, p.value, 'F' || f.value, 1, 1, '1', 1, 1 FROM json_each(?1) p, json_each(?2) f`, JSON.stringify(range(0, 299)), JSON.stringify(range(1, 10)));
      sql.exec("INSERT INTO usage_buckets (period, segment, arrival, feature, license_ms, billed_ms, units, rated, pieces) VALUES (120, 120, 299, 'F1', 1, 1, '1', 1, 1)");
      const w = watched(sql);
      const store = new SqlLiveStore(w.sql);
      return { late: store.firstLatePeriod(298, Infinity, 299), rowsRead: w.rowsRead("SELECT min(period)") };
    });
    expect(read.late).toBe(120);
    // The 11 buckets that arrived in period 299. A guard: workerd's SQLite picks the arrival index
    // here, where SQLite 3.40 picked the primary key and read every bucket of periods 0–298.
    expect(read.rowsRead).toBeLessThanOrEqual(11 + 2);
  });

  it("checking for grants about to expire reads those grants, not every grant ever made nor every notice fired", async () => {
    const site = await enrolledSite();
    const read = await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      const sql = state.storage.sql;
      const DAY = 86_400_000;
      // 3,000 grants that expired over the contract's life, each announced; 3,000 that never expire;
      // 2 expiring within the week (one already announced), 1 in a month.
      sql.exec(`INSERT INTO grants (id, idempotency_key, request_hash, amount, priority, effective_at, expires_at, created_at)
        SELECT 'grt_old_' || value, 'old_' || value, 'h', '1', 0, NULL, ?2 - value * 3600000, 0 FROM json_each(?1)`, JSON.stringify(range(1, 3000)), NOW);
      sql.exec(`INSERT INTO notices (kind, subject, basis, fired_at) SELECT 'grant.expiring', 'grt_old_' || value, 0, 0 FROM json_each(?)`, JSON.stringify(range(1, 3000)));
      sql.exec(`INSERT INTO grants (id, idempotency_key, request_hash, amount, priority, effective_at, expires_at, created_at)
        SELECT 'grt_open_' || value, 'open_' || value, 'h', '1', 0, NULL, NULL, 0 FROM json_each(?1)`, JSON.stringify(range(1, 3000)));
      sql.exec(`INSERT INTO grants (id, idempotency_key, request_hash, amount, priority, effective_at, expires_at, created_at) VALUES
        ('grt_a', 'a', 'h', '1', 0, NULL, ?1 + 2 * ?2, 0), ('grt_b', 'b', 'h', '1', 0, NULL, ?1 + 3 * ?2, 0), ('grt_c', 'c', 'h', '1', 0, NULL, ?1 + 30 * ?2, 0)`, NOW, DAY);
      sql.exec("INSERT INTO notices (kind, subject, basis, fired_at) VALUES ('grant.expiring', 'grt_b', 0, 0)");
      const w = watched(sql);
      const terms = loadTerms(sql)!;
      const asked: string[] = [];
      checkNotices(w.sql, terms, NOW, () => { asked.push("remaining"); return new Map(); });
      const announced = sql.exec<{ subject: string }>("SELECT subject FROM notices WHERE kind = 'grant.expiring' AND subject LIKE 'grt_%' AND subject NOT LIKE 'grt_old_%' ORDER BY subject").toArray().map((r) => r.subject);
      const next = nextNoticeAt(w.sql, terms, NOW);
      return { asked, announced, next, rowsRead: w.rowsRead("SELECT id, amount, expires_at FROM grants") + w.rowsRead("SELECT expires_at - ?2") };
    });
    expect(read.asked).toEqual(["remaining"]);
    expect(read.announced).toEqual(["grt_a", "grt_b"]);
    // grt_c's notice is due a week before it expires (site.stale may come sooner).
    expect(read.next).toBeLessThanOrEqual(NOW + 30 * 86_400_000 - GRANT_EXPIRING_LEAD_MS + 1);
    // The grants expiring from now on (index entry, row and notice probe each); before, every grant
    // and every notice fired (over 9,000).
    expect(read.rowsRead).toBeLessThanOrEqual(4 * 3 + 5);
  });
});
