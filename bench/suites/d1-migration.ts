// Migration 0007 at size (drizzle/0007_usage_days_months.sql): D1 refuses a query that runs over
// 30 s, and the migration must pass on a D1 that already holds millions of hourly rows. SQLite
// itself (node:sqlite, a file in tmpdir) holds M7_BENCH_ROWS hourly rows (default 2,000,000: 100
// sites, 2,000 users, 7 features, 1,000 hours, one contract) in 0000–0006's schema. Figures, each
// on a fresh copy of the same file:
// - the migration as shipped (it marks each contract with hourly rows; nothing is summed);
// - the slowest page of the backfill that then sums the history (usage-coarse-backfill.ts, the
//   product's own loop and SQL, PAGE_ROWS rows a page), and all its pages together;
// each beside the one-statement backfill 0007 shipped with before (39c1886: 12.2 s here, and it
// grows with every contract's history: ~5M rows would pass D1's 30 s).
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readMigrations } from "../../scripts/core/build.ts";
import { coarsePages, PAGE_ROWS, type PageDb } from "../../worker/usage-coarse-backfill.ts";
import { latencyFigure, type BenchFigure } from "../figure.ts";

const ROWS = Number(process.env.M7_BENCH_ROWS ?? 2_000_000);
const ROOT = resolve(import.meta.dirname, "../..");

const limbs = (column: string) => [9, 18, 27, 36, 45, 54, 63, 72].map((n) => `sum(CAST(substr(${column}, -${n}, 9) AS INTEGER))`).join(", ");
const COLUMNS = "contract_id, day, collector_id, feature, product, user, host";
/** 0007's backfill as it shipped before the pages (39c1886): every contract's days in one
 * statement (the table read NOT INDEXED), the months summed from those days. The baseline. */
const ONE_STATEMENT = [
  `INSERT INTO usage_days (${COLUMNS}, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
   SELECT r.contract_id, r.day, r.collector_id, r.feature, r.product, r.user, r.host, sum(r.license_s), ${limbs("r.units_num")}, sum(r.sessions), sum(r.denials), sum(r.draws), count(*)
   FROM usage_rollups r NOT INDEXED GROUP BY r.contract_id, r.day, r.collector_id, r.feature, r.product, r.user, r.host`,
  `INSERT INTO usage_months (contract_id, month, collector_id, feature, product, user, host, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
   SELECT d.contract_id, substr(d.day, 1, 7), d.collector_id, d.feature, d.product, d.user, d.host, sum(d.license_s), sum(d.u0), sum(d.u1), sum(d.u2), sum(d.u3),
     sum(d.u4), sum(d.u5), sum(d.u6), sum(d.u7), sum(d.sessions), sum(d.denials), sum(d.draws), sum(d.hours)
   FROM usage_days d GROUP BY d.contract_id, substr(d.day, 1, 7), d.collector_id, d.feature, d.product, d.user, d.host`,
];

/** node:sqlite as a page's database: a batch is one transaction. */
function sqlitePageDb(db: DatabaseSync): PageDb {
  return {
    first: async <T>(sql: string, ...binds: unknown[]) => (db.prepare(sql).get(...(binds as never[])) as T | undefined) ?? null,
    batch: async (statements) => {
      db.exec("BEGIN");
      try {
        for (const [sql, binds] of statements) db.prepare(sql).run(...(binds as never[]));
        db.exec("COMMIT");
      } catch (error) {
        db.exec("ROLLBACK");
        throw error;
      }
    },
  };
}

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
    // The one-statement baseline creates the tables the same way, then sums everything at once.
    const create = m7.statements.filter((s) => /^\s*(--[^\n]*\n\s*)*CREATE TABLE `usage_(days|months)`/i.test(s));
    const oneStatementMs = run(copy("one-statement.sqlite"), [...create, ...ONE_STATEMENT]);
    const paged = copy("shipped.sqlite");
    const migrationMs = run(paged, m7.statements);
    const shipped = new DatabaseSync(paged);
    const pageMs: number[] = [];
    try {
      const pageDb = sqlitePageDb(shipped);
      for (let more = true; more;) {
        const t0 = performance.now();
        more = await coarsePages(pageDb, "ctr_bench", 1, PAGE_ROWS) === "more";
        pageMs.push(performance.now() - t0);
      }
      const { hours } = shipped.prepare("SELECT sum(hours) AS hours FROM usage_months").get() as { hours: number };
      if (hours !== ROWS) throw new Error(`the pages summed ${hours} hours of ${ROWS}`);
    } finally {
      shipped.close();
    }
    const rows = ROWS.toLocaleString("en-US");
    const baseline = "0007's one-statement backfill (39c1886)";
    const limit = "D1 refuses a query over 30 s; SQLite via node:sqlite";
    return [
      latencyFigure(`migration 0007, ${rows} hourly rows`, "ms", migrationMs, baseline, oneStatementMs, `${limit}; it marks the contract, the pages sum its history`),
      latencyFigure(`slowest backfill page (${PAGE_ROWS.toLocaleString("en-US")} rows) of ${rows}`, "ms", Math.max(...pageMs), baseline, oneStatementMs, `${limit}; a page is one D1 batch`),
      latencyFigure(`all ${pageMs.length} backfill pages of ${rows}`, "ms", pageMs.reduce((a, b) => a + b, 0), baseline, oneStatementMs, "run by the ContractDO's alarm, 4 pages a run"),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
