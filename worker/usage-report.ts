// `GET …/usage` (DESIGN.md §7) answered from D1's hourly rollups: one SQL aggregate over the rows
// of [from, to), grouped by any of feature, product, user, host, collector and day (the local date
// in the contract's zone), one page of groups at a time in group order. The Worker only ever holds
// one page; D1 reads the rollup rows of the range through the (contract_id, hour, …) key.
//
// Exact units in SQL: a rollup row's units are a non-negative decimal numerator of at most 72
// digits (rollup-drain.ts), so SQL sums its eight 9-digit limbs as 64-bit integers (each SUM stays
// exact for up to 9 × 10^9 rows) and the limb sums are combined here in bigint.
import { formatUnits } from "../shared/pricing/index.ts";
import { cursorTag } from "./pagination.ts";

export const USAGE_DIMENSIONS = ["feature", "product", "user", "host", "collector", "day"] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export type UsageRow = Partial<Record<UsageDimension, string | null>> & { license_seconds: number; units: string; draws: number; sessions: number; denials: number };

const COLUMN: Record<UsageDimension, string> = {
  feature: "feature", product: "product", user: "user", host: "host", collector: "collector_id", day: "day",
};
const LIMBS = 8;
const LIMB = 10n ** 9n;

export interface UsageQuery { contractId: string; from: number; to: number; groupBy: UsageDimension[]; limit: number; after?: string[] | undefined }

/** One page of groups and the cursor of the next (the last group's dimension values), if any. */
export async function usagePage(d1: D1Database, q: UsageQuery): Promise<{ items: UsageRow[]; next: string[] | null }> {
  const dims = q.groupBy.map((d) => `"${COLUMN[d]}"`);
  const limbs = Array.from({ length: LIMBS }, (_, i) => `SUM(CAST(substr(units_num, ${-9 * (i + 1)}, 9) AS INTEGER)) AS u${i}`);
  const binds: unknown[] = [q.contractId, q.from, q.to];
  let after = "";
  if (q.after && dims.length > 0) {
    after = ` AND (${dims.join(", ")}) > (${q.after.map((v) => { binds.push(v); return `?${binds.length}`; }).join(", ")})`;
  }
  binds.push(q.limit + 1);
  const sql = `SELECT ${[...dims, "SUM(license_s) AS license_s", ...limbs, "SUM(draws) AS draws", "SUM(sessions) AS sessions", "SUM(denials) AS denials", "count(*) AS n"].join(", ")}
    FROM usage_rollups WHERE contract_id = ?1 AND hour >= ?2 AND hour < ?3${after}
    ${dims.length > 0 ? `GROUP BY ${dims.join(", ")} ORDER BY ${dims.join(", ")}` : ""} LIMIT ?${binds.length}`;
  const rows = (await d1.prepare(sql).bind(...binds).all<Record<string, string | number | null>>()).results.filter((r) => Number(r.n) > 0);
  const items = rows.slice(0, q.limit).map((r): UsageRow => {
    const row: UsageRow = { license_seconds: 0, units: "0", draws: 0, sessions: 0, denials: 0 };
    for (const d of q.groupBy) row[d] = d === "product" && r[COLUMN[d]] === "" ? null : (r[COLUMN[d]] as string);
    let units = 0n;
    for (let i = LIMBS - 1; i >= 0; i--) units = units * LIMB + BigInt(r[`u${i}`] ?? 0);
    return { ...row, license_seconds: Number(r.license_s ?? 0), units: formatUnits(units), draws: Number(r.draws ?? 0), sessions: Number(r.sessions ?? 0), denials: Number(r.denials ?? 0) };
  });
  const last = rows.length > q.limit ? rows[q.limit - 1]! : undefined;
  return { items, next: last ? q.groupBy.map((d) => String(last[COLUMN[d]])) : null };
}

/** What a cursor is bound to: the query it pages (its range and group_by), so a cursor of another
 * query — even one with as many dimensions — is refused instead of silently skipping groups. */
export function usageQueryTag(from: number, to: number, groupBy: readonly string[]): string {
  return cursorTag(from, to, groupBy.join(","));
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
