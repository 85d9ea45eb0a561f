// The hourly history a contract had before migration 0007, summed into usage_days and usage_months
// in pages. 0007 does not sum it in one statement (D1 refuses a query over 30 s, and that one grows
// with every contract's history); it marks each contract with hourly rows in usage_coarse_backfill,
// and the triggers on usage_rollups act only on a contract's rows before its `next_hour`. A page
// takes the next PAGE_ROWS hourly rows (whole hours), adds their sums to the coarse rows of their
// days and months, and moves `next_hour` past them — one D1 batch, so a row is counted once whether
// a write lands before or after it: before, the page reads it; after, the trigger moves it. Every
// statement of the batch is guarded by the `next_hour` the page was planned from, so a page run
// twice at once (two alarms, a retry) adds nothing the second time. The last page deletes the row.
// The ContractDO's alarm runs the pages (contract-alarm.ts); GET …/usage reads a contract that is
// not whole from its hourly rows alone (usage-report.ts) and wakes its DO.

/** Hourly rows per page: a page reads and groups this many rows (D1's 30 s per query is far off:
 * bench/suites/d1-migration.ts times a page on 2M hourly rows). */
export const PAGE_ROWS = 20_000;
/** Pages per alarm run: ≈ 80,000 hourly rows, then the alarm re-arms at once. */
export const PAGES_PER_ALARM = 4;

const KEY = "collector_id, feature, product, user, host";
const LIMBS = [9, 18, 27, 36, 45, 54, 63, 72].map((n) => `sum(CAST(substr(units_num, -${n}, 9) AS INTEGER))`).join(", ");
const FIGURES = "license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours";
const ADD = FIGURES.split(", ").map((c) => `${c} = ${c} + excluded.${c}`).join(", ");
/** Only while the contract's backfill still stands where this page was planned (?1 contract, ?2 next_hour). */
const PLANNED = "EXISTS (SELECT 1 FROM usage_coarse_backfill WHERE contract_id = ?1 AND next_hour = ?2)";
const PAGE_WHERE = `contract_id = ?1 AND hour >= ?2 AND hour < ?3 AND ${PLANNED}`;

/** The statements of one page, bound as ?1 contract, ?2 the page's first hour (the planned
 * `next_hour`), ?3 the hour after it; `last`: the row goes (bound ?1, ?2 only) instead of moving to ?3. */
export function pageStatements(last: boolean): string[] {
  const sums = `sum(license_s), ${LIMBS}, sum(sessions), sum(denials), sum(draws), count(*)`;
  return [
    `INSERT INTO usage_days (contract_id, day, ${KEY}, ${FIGURES})
      SELECT contract_id, day, ${KEY}, ${sums} FROM usage_rollups WHERE ${PAGE_WHERE} GROUP BY day, ${KEY}
      ON CONFLICT (contract_id, day, ${KEY}) DO UPDATE SET ${ADD}`,
    `INSERT INTO usage_months (contract_id, month, ${KEY}, ${FIGURES})
      SELECT contract_id, substr(day, 1, 7), ${KEY}, ${sums} FROM usage_rollups WHERE ${PAGE_WHERE} GROUP BY substr(day, 1, 7), ${KEY}
      ON CONFLICT (contract_id, month, ${KEY}) DO UPDATE SET ${ADD}`,
    last
      ? "DELETE FROM usage_coarse_backfill WHERE contract_id = ?1 AND next_hour = ?2"
      : "UPDATE usage_coarse_backfill SET next_hour = ?3 WHERE contract_id = ?1 AND next_hour = ?2",
  ];
}

/** Where a page that starts at `from` ends: the hour of the row PAGE_ROWS rows on (that hour goes to
 * the next page), or none when fewer rows are left (the last page). ?1 contract, ?2 from, ?3 rows. */
export const PAGE_END_SQL = "SELECT hour FROM usage_rollups WHERE contract_id = ?1 AND hour >= ?2 ORDER BY hour LIMIT 1 OFFSET ?3";
/** When that is `from` itself (the hour alone holds more rows than a page), the page is that hour:
 * it ends at the next hour with rows. */
export const NEXT_HOUR_SQL = "SELECT hour FROM usage_rollups WHERE contract_id = ?1 AND hour > ?2 ORDER BY hour LIMIT 1";

/** What a page needs of a database: D1 in the Worker, node:sqlite in the bench (d1-migration). */
export interface PageDb {
  first<T>(sql: string, ...binds: unknown[]): Promise<T | null>;
  /** All or nothing, as D1's batch. */
  batch(statements: Array<[sql: string, binds: unknown[]]>): Promise<void>;
}

export function d1PageDb(d1: D1Database): PageDb {
  return {
    first: (sql, ...binds) => d1.prepare(sql).bind(...binds).first(),
    batch: async (statements) => { await d1.batch(statements.map(([sql, binds]) => d1.prepare(sql).bind(...binds))); },
  };
}

/** The first hour of the contract not yet summed, or null when it is whole. */
export async function backfillFrom(d1: D1Database, contractId: string): Promise<number | null> {
  return nextHour(d1PageDb(d1), contractId);
}

async function nextHour(db: PageDb, contractId: string): Promise<number | null> {
  return (await db.first<{ next_hour: number }>("SELECT next_hour FROM usage_coarse_backfill WHERE contract_id = ?1", contractId))?.next_hour ?? null;
}

/**
 * Up to `pages` pages of the contract's backfill: "done" when it is whole (or was already), "more"
 * when rows are left. Each page is one D1 batch; a failure leaves the last committed page.
 */
export function backfillCoarse(d1: D1Database, contractId: string, pages = PAGES_PER_ALARM, pageRows = PAGE_ROWS): Promise<"done" | "more"> {
  return coarsePages(d1PageDb(d1), contractId, pages, pageRows);
}

export async function coarsePages(db: PageDb, contractId: string, pages: number, pageRows: number): Promise<"done" | "more"> {
  for (let p = 0; p < pages; p++) {
    const from = await nextHour(db, contractId);
    if (from === null) return "done";
    let end = (await db.first<{ hour: number }>(PAGE_END_SQL, contractId, from, pageRows))?.hour ?? null;
    if (end === from) end = (await db.first<{ hour: number }>(NEXT_HOUR_SQL, contractId, from))?.hour ?? null;
    const last = end === null;
    const to = end ?? Number.MAX_SAFE_INTEGER;
    const [days, months, progress] = pageStatements(last);
    await db.batch([[days!, [contractId, from, to]], [months!, [contractId, from, to]], [progress!, last ? [contractId, from] : [contractId, from, to]]]);
    if (last) return "done";
  }
  return (await nextHour(db, contractId)) === null ? "done" : "more";
}
