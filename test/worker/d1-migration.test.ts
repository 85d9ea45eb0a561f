// Migration 0004 (usage rollups) applied to a D1 that already holds data, as `wrangler d1
// migrations apply` would: the real D1 is put back to its 0003 shape with rows in it, then 0004's
// own statements run. Records and idempotency keys survive; the new tables start empty (each
// ContractDO re-projects its history into them: usage-history.test.ts).
import { describe, it, expect } from "vitest";
import { env } from "cloudflare:test";

describe("migration 0004 on a D1 with data", () => {
  it("keeps every record and idempotency key and creates the rollup tables empty", async () => {
    const m3 = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0003"))!;
    const m4 = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0004"))!;
    // Undo 0004: back to the schema 0003 left.
    await env.DB.batch([
      ...["usage_facts", "usage_rollups", "projection_revs", "projection_guard"].map((t) => env.DB.prepare(`DROP TABLE ${t}`)),
      env.DB.prepare("DROP INDEX records_contract_collector"),
      env.DB.prepare('CREATE INDEX `records_contract_start` ON `records` (`contract_id`,`start`)'),
      env.DB.prepare("DROP INDEX idempotency_keys_created"),
      env.DB.prepare("ALTER TABLE idempotency_keys DROP COLUMN claim"),
      ...m3.queries.map((q) => env.DB.prepare(q)),
    ]);
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO records (collector_id, seq, contract_id, hash, kind, ts, received_at, record_json, feature, user, host, start, "end", count)
        VALUES ('col_a', 1, 'ctr_a', 'h1', 'usage', 1, 2, '{}', 'MATLAB', 'ada', 'ws', 0, 3600000, 1), ('col_a', 2, 'ctr_a', 'h2', 'heartbeat', 1, 2, '{}', NULL, NULL, NULL, NULL, NULL, NULL)`),
      env.DB.prepare("INSERT INTO interval_units (collector_id, seq, contract_id, session, units_num) VALUES ('col_a', 1, 'ctr_a', 'col_a:s', '3600000000000000000')"),
      env.DB.prepare("INSERT INTO idempotency_keys (vendor_id, key, request_hash, status, response_json, created_at) VALUES ('vendor:v', 'k', 'r', 201, 'sealed', 5)"),
    ]);
    await env.DB.batch(m4.queries.map((q) => env.DB.prepare(q)));
    expect((await env.DB.prepare("SELECT collector_id, seq, hash FROM records ORDER BY seq").all()).results)
      .toEqual([{ collector_id: "col_a", seq: 1, hash: "h1" }, { collector_id: "col_a", seq: 2, hash: "h2" }]);
    expect(await env.DB.prepare("SELECT vendor_id, key, status, created_at, claim FROM idempotency_keys").first())
      .toEqual({ vendor_id: "vendor:v", key: "k", status: 201, created_at: 5, claim: null });
    for (const table of ["usage_facts", "usage_rollups", "projection_revs", "projection_guard"]) {
      expect(await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first()).toEqual({ n: 0 });
    }
    expect(await env.DB.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name IN ('interval_units', 'records_contract_start')").first()).toEqual({ n: 0 });
  });
});
