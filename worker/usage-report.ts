// `GET …/usage` (DESIGN.md §7) answered from D1's rollups: one SQL aggregate over [from, to),
// grouped by any of feature, product, user, host, collector and day (the local date in the
// contract's zone), one page of groups at a time in group order. The Worker only ever holds one
// page; D1 reads whole local months and days from usage_months and usage_days and only the ragged
// hours at the ends from usage_rollups (usage-spans.ts), each through its table's key — so a page
// costs the days and months of the range, not its hours. Every page aggregates the range again up
// to its cursor's group: bounded by the same, since the coarse tables are the sums.
//
// Exact units in SQL: an hourly row's units are a non-negative decimal numerator of at most 72
// digits (rollup-drain.ts), so SQL sums its eight 9-digit limbs as 64-bit integers — the coarse
// tables keep those limb sums (migration 0007), each SUM stays exact for up to 9 × 10^9 hourly rows
// behind it — and the limb sums are combined here in bigint.
import { formatUnits } from "../shared/pricing/index.ts";
import type { LocalHours } from "../shared/time/local-hours.ts";
import { cursorTag } from "./pagination.ts";
import { usageSpans } from "./usage-spans.ts";

export const USAGE_DIMENSIONS = ["feature", "product", "user", "host", "collector", "day"] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export type UsageRow = Partial<Record<UsageDimension, string | null>> & { license_seconds: number; units: string; draws: number; sessions: number; denials: number };

const COLUMN: Record<UsageDimension, string> = {
  feature: "feature", product: "product", user: "user", host: "host", collector: "collector_id", day: "day",
};
const LIMBS = 8;
const LIMB = 10n ** 9n;

export interface UsageQuery { contractId: string; hours: LocalHours; from: number; to: number; groupBy: UsageDimension[]; limit: number; after?: string[] | undefined }

/** One page of groups, the cursor of the next (the last group's dimension values), if any, D1's rows
 * read, and whether the contract's older history is still being summed into the coarse tables. */
export async function usagePage(d1: D1Database, q: UsageQuery): Promise<{ items: UsageRow[]; next: string[] | null; rowsRead: number; backfilling: boolean }> {
  const dims = q.groupBy.map((d) => `"${COLUMN[d]}"`);
  const binds: unknown[] = [q.contractId];
  const bind = (v: unknown) => { binds.push(v); return `?${binds.length}`; };
  const after = q.after && dims.length > 0 ? ` AND (${dims.join(", ")}) > (${q.after.map(bind).join(", ")})` : "";
  const u = Array.from({ length: LIMBS }, (_, i) => `u${i}`);
  const hourly = [...dims, "license_s", ...u.map((name, i) => `CAST(substr(units_num, ${-9 * (i + 1)}, 9) AS INTEGER) AS ${name}`), "sessions", "denials", "draws", "1 AS n"];
  const coarse = [...dims, "license_s", ...u, "sessions", "denials", "draws", "hours AS n"];
  const spans = usageSpans(q.hours, q.from, q.to, q.groupBy.includes("day"));
  // One indexed range per piece: (contract_id, hour | day | month, …) is each table's key. A
  // contract whose history from before the coarse tables is still being summed into them
  // (usage-coarse-backfill.ts) is read from its hourly rows alone, as before them: the two queries
  // go in one batch, each guarded by whether the contract is whole (a constant condition, tested
  // once before any row is read), so one of them reads nothing.
  const backfilling = "EXISTS (SELECT 1 FROM usage_coarse_backfill WHERE contract_id = ?1)";
  const whole = ` AND NOT ${backfilling}`;
  const coarseParts = [
    ...spans.hours.map(([a, b]) => `SELECT ${hourly.join(", ")} FROM usage_rollups WHERE contract_id = ?1 AND hour >= ${bind(a)} AND hour < ${bind(b)}${after}${whole}`),
    ...spans.days.map(([a, b]) => `SELECT ${coarse.join(", ")} FROM usage_days WHERE contract_id = ?1 AND day >= ${bind(a)} AND day < ${bind(b)}${after}${whole}`),
    ...spans.months.map(([a, b]) => `SELECT ${coarse.join(", ")} FROM usage_months WHERE contract_id = ?1 AND month >= ${bind(a)} AND month < ${bind(b)}${after}${whole}`),
  ];
  const hourlyPart = `SELECT ${hourly.join(", ")} FROM usage_rollups WHERE contract_id = ?1 AND hour >= ${bind(q.from)} AND hour < ${bind(q.to)}${after} AND ${backfilling}`;
  const sums = ["license_s", ...u, "sessions", "denials", "draws", "n"].map((c) => `SUM(${c}) AS ${c}`);
  // Both statements take every bind; each names only some, and the LIMIT (bound last, named by
  // both) makes each statement's parameter count the same.
  const limit = bind(q.limit + 1);
  const aggregate = (parts: string[]) => `SELECT ${[...dims, ...sums].join(", ")} FROM (${parts.join(" UNION ALL ")})
    ${dims.length > 0 ? `GROUP BY ${dims.join(", ")} ORDER BY ${dims.join(", ")}` : ""} LIMIT ${limit}`;
  type Row = Record<string, string | number | null>;
  const [progress, fromCoarse, fromHours] = await d1.batch<Row>([
    d1.prepare(`SELECT ${backfilling} AS backfilling`).bind(q.contractId),
    d1.prepare(aggregate(coarseParts)).bind(...binds), d1.prepare(aggregate([hourlyPart])).bind(...binds),
  ]) as [D1Result<{ backfilling: number }>, D1Result<Row>, D1Result<Row>];
  const isBackfilling = progress.results[0]?.backfilling === 1;
  const answer = isBackfilling ? fromHours : fromCoarse;
  const rows = answer.results.filter((r) => Number(r.n) > 0);
  const items = rows.slice(0, q.limit).map((r): UsageRow => {
    const row: UsageRow = { license_seconds: 0, units: "0", draws: 0, sessions: 0, denials: 0 };
    for (const d of q.groupBy) row[d] = d === "product" && r[COLUMN[d]] === "" ? null : (r[COLUMN[d]] as string);
    let units = 0n;
    for (let i = LIMBS - 1; i >= 0; i--) units = units * LIMB + BigInt(r[`u${i}`] ?? 0);
    return { ...row, license_seconds: Number(r.license_s ?? 0), units: formatUnits(units), draws: Number(r.draws ?? 0), sessions: Number(r.sessions ?? 0), denials: Number(r.denials ?? 0) };
  });
  const last = rows.length > q.limit ? rows[q.limit - 1]! : undefined;
  return {
    items, next: last ? q.groupBy.map((d) => String(last[COLUMN[d]])) : null, rowsRead: progress.meta.rows_read + fromCoarse.meta.rows_read + fromHours.meta.rows_read,
    backfilling: isBackfilling,
  };
}

/** What a cursor is bound to: the query it pages (its contract, range and group_by), so a cursor of
 * another query — even one with as many dimensions, or another contract's — is refused instead of
 * silently skipping groups. */
export function usageQueryTag(contractId: string, from: number, to: number, groupBy: readonly string[]): string {
  return cursorTag(contractId, from, to, groupBy.join(","));
}

/** The cursor names the last group of the page before: its query's tag and dimension values, base64url JSON. */
export function encodeUsageCursor(values: string[], tag: string): string {
  const bytes = new TextEncoder().encode(JSON.stringify([tag, ...values]));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The dimension values in a cursor, or undefined when it is not one of ours for this query (`tag`, `dimensions` values). */
export function decodeUsageCursor(cursor: string, dimensions: number, tag: string): string[] | undefined {
  if (!/^[A-Za-z0-9_-]{1,4096}$/.test(cursor)) return undefined;
  try {
    const binary = atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
    const values = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)))) as unknown;
    return Array.isArray(values) && values.length === dimensions + 1 && dimensions > 0 && values[0] === tag && values.every((v) => typeof v === "string")
      ? values.slice(1) as string[] : undefined;
  } catch {
    return undefined;
  }
}
