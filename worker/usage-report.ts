// `GET …/usage` aggregation (DESIGN.md §7): usage intervals and denials from the D1 projection,
// clipped to [from, to) and grouped by any of feature, user, host, collector and day (the local
// date in the contract's zone). license_seconds are clipped (and split at local midnights when
// grouping by day); an interval's rated units count where it starts, as rating counts a piece at
// its start, so they are included when the interval starts inside [from, to).
import { formatUnits } from "../shared/pricing/index.ts";
import { wallTimeAt, wallTimeToUtc } from "../shared/time/zoned.ts";

export const USAGE_DIMENSIONS = ["feature", "user", "host", "collector", "day"] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];

export interface UsageIntervalRow {
  collector_id: string; feature: string | null; user: string | null; host: string | null;
  start: number; end: number; count: number; units_num: string | null; session: string | null;
}
export interface DenialRow { collector_id: string; feature: string | null; user: string | null; host: string | null; ts: number }

export type UsageRow = Partial<Record<UsageDimension, string | null>> & { license_seconds: number; units: string; sessions: number; denials: number };

interface Group { dims: Partial<Record<UsageDimension, string | null>>; license_ms: number; units: bigint; sessions: Set<string>; denials: number }

function localDate(ts: number, zone: string): string {
  const w = wallTimeAt(ts, zone);
  return `${String(w.year).padStart(4, "0")}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
}

function nextLocalMidnight(ts: number, zone: string): number {
  const w = wallTimeAt(ts, zone);
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + 1));
  return wallTimeToUtc({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 0, minute: 0, second: 0 }, zone);
}

export function usageReport(intervals: UsageIntervalRow[], denials: DenialRow[], from: number, to: number, groupBy: UsageDimension[], zone: string): UsageRow[] {
  const groups = new Map<string, Group>();
  const groupOf = (r: { collector_id: string; feature: string | null; user: string | null; host: string | null }, at: number): Group => {
    const dims: Group["dims"] = {};
    for (const d of groupBy) dims[d] = d === "day" ? localDate(at, zone) : d === "collector" ? r.collector_id : r[d];
    const key = JSON.stringify(groupBy.map((d) => dims[d]));
    let g = groups.get(key);
    if (!g) { g = { dims, license_ms: 0, units: 0n, sessions: new Set(), denials: 0 }; groups.set(key, g); }
    return g;
  };
  for (const iv of intervals) {
    const a0 = Math.max(iv.start, from), b0 = Math.min(iv.end, to);
    if (a0 >= b0) continue;
    if (iv.start >= from) groupOf(iv, iv.start).units += BigInt(iv.units_num ?? "0");
    for (let a = a0; a < b0;) {
      const b = groupBy.includes("day") ? Math.min(b0, nextLocalMidnight(a, zone)) : b0;
      const g = groupOf(iv, a);
      g.license_ms += (b - a) * iv.count;
      g.sessions.add(`${iv.collector_id}:${iv.session ?? iv.start}`);
      a = b;
    }
  }
  for (const d of denials) groupOf(d, d.ts).denials++;
  const rows = [...groups.values()].map((g): UsageRow => ({
    ...g.dims, license_seconds: g.license_ms / 1000, units: formatUnits(g.units), sessions: g.sessions.size, denials: g.denials,
  }));
  const key = (r: UsageRow) => groupBy.map((d) => r[d] ?? "");
  return rows.sort((x, y) => {
    const kx = key(x), ky = key(y);
    for (let i = 0; i < kx.length; i++) if (kx[i] !== ky[i]) return kx[i]! < ky[i]! ? -1 : 1;
    return 0;
  });
}
