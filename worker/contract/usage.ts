// Per-feature license-seconds of each period, kept current as batches are applied so a balance
// read never re-reads history. Intervals are split at period starts (DESIGN.md §5). Sums are
// bigint, stored as decimal TEXT: count × duration has no small bound.
import type { UsageData } from "../../shared/protocol/index.ts";
import { periodAt, type Period } from "./period.ts";
import type { ContractTerms } from "./terms.ts";

/** Adds rateable usage intervals to the per-(period, feature) totals. */
export function addUsage(sql: SqlStorage, terms: ContractTerms, intervals: UsageData[]): void {
  const sums = new Map<string, { period_start: number; feature: string; license_s: bigint }>();
  // periodAt costs several Intl calls; a batch's intervals nearly always share one period.
  let last: Period | undefined;
  const periodOf = (t: number) => (last && t >= last.start && t < last.end ? last : (last = periodAt(t, terms)));
  for (const u of intervals) {
    let a = u.start;
    while (a < u.end) {
      const p = periodOf(a);
      const b = Math.min(u.end, p.end);
      const key = `${p.start}\n${u.feature}`;
      const entry = sums.get(key) ?? { period_start: p.start, feature: u.feature, license_s: 0n };
      entry.license_s += (BigInt(b - a) / 1000n) * BigInt(u.count);
      sums.set(key, entry);
      a = b;
    }
  }
  for (const s of sums.values()) {
    const row = sql.exec<{ license_s: string }>("SELECT license_s FROM feature_usage WHERE period_start = ? AND feature = ?", s.period_start, s.feature).toArray()[0];
    const total = (row ? BigInt(row.license_s) : 0n) + s.license_s;
    sql.exec(
      "INSERT INTO feature_usage (period_start, feature, license_s) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET license_s = excluded.license_s",
      s.period_start, s.feature, total.toString(),
    );
  }
}

export function usageInPeriod(sql: SqlStorage, periodStart: number): Array<{ feature: string; license_s: bigint }> {
  return sql.exec<{ feature: string; license_s: string }>("SELECT feature, license_s FROM feature_usage WHERE period_start = ? ORDER BY feature", periodStart)
    .toArray().map((r) => ({ feature: r.feature, license_s: BigInt(r.license_s) }));
}
