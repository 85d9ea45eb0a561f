// Migration 0007's backfill at size (drizzle/0007_usage_days_months.sql): D1 refuses a query that
// runs over 30 s, and the migration must pass on a D1 that already holds millions of hourly rows.
// SQLite itself (node:sqlite, a file in tmpdir) holds M7_BENCH_ROWS hourly rows (default
// 2,000,000: 100 sites, 2,000 users, 7 features, 1,000 hours) in 0000–0006's schema; the figure is
// the migration as shipped, beside the two backfill statements as first written (the days through
// the collector index, the months from the hours again), each on a fresh copy of the same file.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readMigrations } from "../../scripts/core/build.ts";
import { latencyFigure, type BenchFigure } from "../figure.ts";

const ROWS = Number(process.env.M7_BENCH_ROWS ?? 2_000_000);
const ROOT = resolve(import.meta.dirname, "../..");

const limbs = (column: string) => [9, 18, 27, 36, 45, 54, 63, 72].map((n) => `sum(CAST(substr(${column}, -${n}, 9) AS INTEGER))`).join(", ");
const COLUMNS = "contract_id, day, collector_id, feature, product, user, host";
/** 0007's two backfill statements as first written: the baseline. */
const FIRST_WRITTEN = [
  `INSERT INTO usage_days (${COLUMNS}, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
   SELECT r.contract_id, r.day, r.collector_id, r.feature, r.product, r.user, r.host, sum(r.license_s), ${limbs("r.units_num")}, sum(r.sessions), sum(r.denials), sum(r.draws), count(*)
   FROM usage_rollups r GROUP BY r.contract_id, r.day, r.collector_id, r.feature, r.product, r.user, r.host`,
  `INSERT INTO usage_months (contract_id, month, collector_id, feature, product, user, host, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
   SELECT r.contract_id, substr(r.day, 1, 7), r.collector_id, r.feature, r.product, r.user, r.host, sum(r.license_s), ${limbs("r.units_num")}, sum(r.sessions), sum(r.denials), sum(r.draws), count(*)
   FROM usage_rollups r GROUP BY r.contract_id, substr(r.day, 1, 7), r.collector_id, r.feature, r.product, r.user, r.host`,
];

function run(file: string, statements: string[]): number {
  const db = new DatabaseSync(file);
  try {
    const t0 = performance.now();
    db.exec("BEGIN");
    for (const s of statements) db.exec(s);
    db.exec("COMMIT");
    return performance.now() - t0;
  } finally {
    db.close();
  }
}

export default async function d1Migration(): Promise<BenchFigure[]> {
  const migrations = await readMigrations(ROOT);
  const m7 = migrations.find((m) => m.name.startsWith("0007"))!;
  const dir = mkdtempSync(join(tmpdir(), "tally-bench-m7-"));
  try {
    const seeded = join(dir, "seeded.sqlite");
    const db = new DatabaseSync(seeded);
    for (const m of migrations.filter((m) => m.name < "0007")) for (const s of m.statements) db.exec(s);
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS - 1})
      INSERT INTO usage_rollups (contract_id, hour, collector_id, feature, product, user, host, day, license_s, units_num, sessions, denials, draws)
      SELECT 'ctr_bench', 1767225600000 + (i / 2000) * 3600000, 'col_' || (i % 100), 'FEATURE_' || (i % 7), '', 'user_' || ((i / 100) % 20 + (i % 100) * 20),
        'host_' || (i % 100), date(1767225600 + (i / 2000) * 3600, 'unixepoch'), 3600, printf('%072d', 3600), 1, 0, 0 FROM n`);
    db.close();

    const copy = (name: string) => { const f = join(dir, name); copyFileSync(seeded, f); return f; };
    // The tables and triggers come with 0007 as shipped; the baseline creates the tables the same
    // way, then backfills with the first-written statements.
    const create = m7.statements.filter((s) => /^\s*(--[^\n]*\n\s*)*CREATE TABLE/i.test(s));
    const shippedMs = run(copy("shipped.sqlite"), m7.statements);
    const firstMs = run(copy("first.sqlite"), [...create, ...FIRST_WRITTEN]);
    const check = new DatabaseSync(join(dir, "shipped.sqlite"));
    const { hours } = check.prepare("SELECT sum(hours) AS hours FROM usage_months").get() as { hours: number };
    check.close();
    if (hours !== ROWS) throw new Error(`0007 backfilled ${hours} hours of ${ROWS}`);
    return [latencyFigure(`migration 0007 backfill, ${ROWS.toLocaleString("en-US")} hourly rows`, "ms", shippedMs, "0007 as first written", firstMs,
      "D1 refuses a query over 30 s; SQLite via node:sqlite, one transaction")];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
