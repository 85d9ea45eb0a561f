// A ContractDO created before the live ledger (storage schema version 3: rated pieces keyed by
// ref, session cursors as JSON, frozen statements as one JSON value, the skeleton's
// `feature_usage`) is migrated when it wakes: its intervals and frozen statements are kept, the
// old tables go, and a re-rating job from the contract start rebuilds the aggregates through the
// alarm — after which balance and statements are what they were, byte for byte.
import { describe, expect, it } from "vitest";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject, SELF } from "cloudflare:test";
import { migrateStorage } from "../../worker/contract/storage-schema.ts";
import { SqlLiveStore } from "../../worker/contract/sql-live-store.ts";
import { call, contractStub, d1State, enrolledSite, ok, postBatch, settle } from "./edge-fixture.ts";
import { appendUsage, grant, HOUR, NOW, planOf, PRICE, pricedContract, send } from "./pricing-fixture.ts";

const OCT_20 = Date.UTC(2026, 9, 20, 12);

/** Version 3's pricing-derived tables, as BILLING_STEP created them. */
const V3_TABLES = `
  CREATE TABLE feature_usage (period_start INTEGER NOT NULL, feature TEXT NOT NULL, license_s TEXT NOT NULL, PRIMARY KEY (period_start, feature)) WITHOUT ROWID;
  CREATE TABLE usage_intervals (
    ref TEXT PRIMARY KEY, collector_id TEXT NOT NULL, seq INTEGER NOT NULL, session TEXT NOT NULL, feature TEXT NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL, count INTEGER NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE INDEX usage_intervals_session ON usage_intervals (session);
  CREATE INDEX usage_intervals_seq ON usage_intervals (collector_id, seq);
  CREATE TABLE rated_pieces (
    ref TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, session TEXT NOT NULL, feature TEXT NOT NULL,
    period INTEGER NOT NULL, arrival INTEGER NOT NULL, segment INTEGER NOT NULL, license_ms INTEGER NOT NULL,
    billed_ms INTEGER NOT NULL, units TEXT NOT NULL, rated INTEGER NOT NULL, PRIMARY KEY (ref, start)) WITHOUT ROWID;
  CREATE INDEX rated_pieces_session ON rated_pieces (session);
  CREATE TABLE session_cursors (session TEXT PRIMARY KEY, cursor_json TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE frozen_statements (
    period_index INTEGER PRIMARY KEY, start_date TEXT NOT NULL, statement_json TEXT NOT NULL, frozen_at INTEGER NOT NULL);`;

const LIVE_TABLES = ["rating_sources", "rating_sessions", "usage_intervals", "rated_pieces", "usage_buckets", "period_folds", "rating_state",
  "frozen_statements", "statement_lines", "line_ranges", "carried_lines", "draw_keys", "draw_uses", "draws"];

const LATER_TABLES = ["notices", "stored_usage_queue", "evidence_parts", "fork_jobs"];

describe("storage migration to the live ledger", () => {
  it("keeps intervals and frozen statements, drops feature_usage, and re-rates through the alarm to the same figures", async () => {
    const c = await pricedContract(planOf("prepaid_overage", { price: PRICE, overage: { policy: "allow" } }), { start: "2026-10-01", grace_h: 24, now: OCT_20 });
    await grant(c, { amount: "5", idempotency_key: "g" }, OCT_20);
    const site = c.sites[0]!;
    appendUsage(site, { session: "oct", start: Date.UTC(2026, 9, 19, 8), end: Date.UTC(2026, 9, 19, 14), count: 2 }, OCT_20);
    await send(c, site, OCT_20);
    appendUsage(site, { session: "nov", start: NOW - 5 * HOUR, end: NOW - 3 * HOUR }, NOW);
    appendUsage(site, { session: "nov", start: NOW - 3 * HOUR, end: NOW - HOUR }, NOW);
    await send(c, site, NOW);
    const read = async () => [
      await (await call("GET", `/v1/contracts/${c.id}/statement?period=2026-10-01`, { token: c.vendor.api_key })).text(),
      await (await call("GET", `/v1/contracts/${c.id}/statement`, { token: c.vendor.api_key })).text(),
      (({ as_of: _, ...b }) => b)(await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key }))),
    ];
    const before = await read();
    expect(JSON.parse(before[0] as string).state).toBe("closed");

    // Rewind the DO's storage to version 3, holding the same intervals and frozen statement.
    await runInDurableObject(contractStub(c.id), (_i, state) => {
      const sql = state.storage.sql;
      const store = new SqlLiveStore(sql);
      const intervals = sql.exec<{ collector_id: string; seq: number; name: string; feature: string; start: number; end: number; count: number; received_at: number }>(
        `SELECT c.collector_id, i.seq, s.name, i.feature, i.start, i."end", i.count, i.received_at FROM usage_intervals i
         JOIN rating_sources c ON c.no = i.source_no JOIN rating_sessions s ON s.id = i.session_id`).toArray();
      const frozen = store.frozen(0)!;
      for (const t of LIVE_TABLES) sql.exec(`DROP TABLE ${t}`);
      // Tables of later steps (notices, the stored-usage queue, evidence parts, fork jobs): a DO at version 3 had none of them…
      for (const t of LATER_TABLES) sql.exec(`DROP TABLE ${t}`);
      // …nor the enforcement and grant-expiry indexes, nor the checkpoints (and the chain columns that came with them).
      sql.exec("DROP INDEX records_enforcement; DROP INDEX grants_expiring; DROP TABLE checkpoints; ALTER TABLE chains DROP COLUMN replayable_from; ALTER TABLE chains DROP COLUMN import_to_seq");
      sql.exec(V3_TABLES);
      for (const i of intervals) {
        sql.exec(`INSERT INTO usage_intervals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, `${i.collector_id}:${i.seq}`, i.collector_id, i.seq, `${i.collector_id}:${i.name}`, i.feature, i.start, i.end, i.count, i.received_at);
      }
      const old = { ...frozen, lines: frozen.lines.map((l) => ({ ...l, refs: [] })) };
      sql.exec("INSERT INTO frozen_statements VALUES (0, ?, ?, ?)", frozen.period.start_date, JSON.stringify(old), OCT_20);
      sql.exec("UPDATE schema_version SET version = 3");
      migrateStorage(sql, (f) => state.storage.transactionSync(f));
      expect(sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('feature_usage', 'session_cursors', 'usage_intervals_v3', 'frozen_statements_v3')").one().n).toBe(0);
      expect(sql.exec("SELECT count(*) AS n FROM usage_intervals").one().n).toBe(3);
      expect(JSON.parse(sql.exec<{ job_json: string }>("SELECT job_json FROM rating_state").one().job_json)).toMatchObject({ done: 0, total: 3 });
    });
    await evictDurableObject(contractStub(c.id));

    const during = await ok(await call("GET", `/v1/contracts/${c.id}/balance`, { token: c.vendor.api_key }));
    expect(during.rerating).toEqual({ done: 0, total: 3 });
    expect(await (await call("GET", `/v1/contracts/${c.id}/statement?period=2026-10-01`, { token: c.vendor.api_key })).text()).toBe(before[0]);
    while (await runDurableObjectAlarm(contractStub(c.id))) { /* re-rating chunks, then the drain */ }
    expect(await read()).toEqual(before);
  });
});

describe("storage of a newer build", () => {
  it("is refused, not written to: an older build serving an upgraded data dir stops at the contract", async () => {
    // Before, the migration loop simply found nothing to do, and the old build went on with tables it does not know.
    const site = await enrolledSite();
    await runInDurableObject(contractStub(site.contractId), (_i, state) => {
      const sql = state.storage.sql;
      const version = sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version;
      sql.exec("UPDATE schema_version SET version = ?", version + 1);
      expect(() => migrateStorage(sql, (f) => state.storage.transactionSync(f))).toThrow(`storage is at version ${version + 1}, newer than this build knows (${version})`);
      sql.exec("UPDATE schema_version SET version = ?", version);
    });
  });

  it("answers every request to the contract 503 storage_too_new naming both versions; a batch leaves the projection as it was", async () => {
    // Before, the constructor's error reached the Worker as a plain Error: 500 `internal`, without the why.
    const site = await enrolledSite();
    site.chain.usage();
    await settle(site.contractId);
    const version = await upgradedByNewerBuild(site.contractId);
    const d1Before = await d1State(site.contractId);
    const refusal = {
      error: "storage_too_new",
      message: `this contract's storage is at version ${version + 1}, newer than this build knows (${version}): a newer Tally migrated it — serve it with that build, or restore the backup taken before the upgrade`,
    };

    const balance = await call("GET", `/v1/contracts/${site.contractId}/balance`, { token: site.vendor.api_key });
    expect([balance.status, await balance.json()]).toEqual([503, refusal]);
    const batch = await postBatch(site.collectorId, site.chain.batch(1, 1));
    expect([batch.status, await batch.json()]).toEqual([503, refusal]);
    // The object's own storage cannot be opened to look (its constructor refuses every call): the
    // batch never reached a method, and nothing of it reached D1.
    expect(await d1State(site.contractId)).toEqual(d1Before);
  });

  it("answers its console pages and its customer status page 503 with a page saying what to do", async () => {
    // Before, the console said 404 "no such contract" (500 for the statement), and the status link answered JSON to a browser.
    const site = await enrolledSite();
    const link = await ok(await call("POST", `/v1/contracts/${site.contractId}/status-links`, { token: site.vendor.api_key, body: {} }), 201);
    const cookie = await consoleSession(site.vendor.api_key);
    const csrf = /name="csrf" value="([^"]+)"/.exec(await (await call("GET", "/console", { headers: { Cookie: cookie } })).text())![1]!;
    const version = await upgradedByNewerBuild(site.contractId);
    const apiMessage = `this contract's storage is at version ${version + 1}, newer than this build knows (${version}): a newer Tally migrated it — serve it with that build, or restore the backup taken before the upgrade`;

    for (const path of [`/console/contracts/${site.contractId}`, `/console/contracts/${site.contractId}/statement.csv`]) {
      const res = await call("GET", path, { headers: { Cookie: cookie } });
      const html = await res.text();
      expect([path, res.status, res.headers.get("Content-Type")]).toEqual([path, 503, "text/html; charset=utf-8"]);
      expect(html).toContain(`<h1>Contract unavailable</h1><p class="error" role="alert">${apiMessage.replace(/'/g, "&#39;")}</p>`);
      expect(html).toContain(`Error code <code>storage_too_new</code>`);
    }
    const grant = await call("POST", `/console/contracts/${site.contractId}/grants`, {
      raw: new URLSearchParams({ csrf, amount: "5" }), headers: { Cookie: cookie, Origin: "http://edge.test", "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(grant.status).toBe(503);

    const page = await call("GET", new URL(link.url).pathname, { headers: { Accept: "text/html" } });
    const html = await page.text();
    expect([page.status, page.headers.get("Content-Type"), page.headers.get("Cache-Control")]).toEqual([503, "text/html; charset=utf-8", "no-store"]);
    expect(html).toContain("<h1>Status unavailable</h1><p>This usage status cannot be shown right now: the service holding it is running an older version than the one that last stored it. Please let your vendor know; the status returns once they run the newer version or restore their backup.</p>");
    expect(html).toContain("Error code: storage_too_new");
    // The customer's page hides internals, the storage versions among them.
    expect(html).not.toContain(`version ${version + 1}`);
    const json = await call("GET", new URL(link.url).pathname, { headers: { Accept: "application/json" } });
    expect([json.status, await json.json()]).toEqual([503, {
      error: "storage_too_new", message: "this status is unavailable until the vendor serves it with the newer Tally that last stored it, or restores their backup",
    }]);
  });
});

/** Raises the contract's stored schema version past this build's, then evicts the object: the next
 * request constructs it again, as a restart onto a data dir a newer Tally upgraded would. */
async function upgradedByNewerBuild(contractId: string): Promise<number> {
  const version = await runInDurableObject(contractStub(contractId), (_i, state) => {
    const sql = state.storage.sql;
    const current = sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version;
    sql.exec("UPDATE schema_version SET version = ?", current + 1);
    return current;
  });
  await evictDurableObject(contractStub(contractId));
  return version;
}

/** A console session cookie for `apiKey` (the sign-in answers 303 with it). */
async function consoleSession(apiKey: string): Promise<string> {
  const res = await SELF.fetch("http://edge.test/console/sign-in", {
    method: "POST", body: new URLSearchParams({ api_key: apiKey }), redirect: "manual",
    headers: { Origin: "http://edge.test", "Content-Type": "application/x-www-form-urlencoded", "X-Tally-Now": String(NOW) },
  });
  expect(res.status).toBe(303);
  return res.headers.get("Set-Cookie")!.split(";")[0]!;
}
