// The consumption chart's data: units per day over the chart's range (days without use are 0),
// the open period's cumulative units, and the levels they are measured against — included units
// plus grants, then each tier boundary above them (tiers count the units beyond included units
// and grants, DESIGN §6). Values stay decimal strings; only the browser turns them into pixels.
import { formatScaled, parseScaled } from "../../shared/decimal/decimal.ts";
import type { UsageRow } from "./contract-view.ts";

const SCALE = 6;
const DAY_MS = 86_400_000;

export interface ChartLevel { label: string; value: string }
export interface ConsumptionChart {
  unit: string;
  days: string[];
  daily: string[];
  /** Running total since the open period's first day; null for days before it. */
  cumulative: Array<string | null>;
  levels: ChartLevel[];
}

export interface ChartInput {
  rows: UsageRow[];
  from: string;
  to: string;
  periodStartDate: string;
  unit: string;
  includedUnits: string;
  grantedUnits: string | null;
  tiers: Array<{ up_to: string | null }>;
}

/** null when the rows have no units (an edge that does not price yet). */
export function consumptionChart(input: ChartInput): ConsumptionChart | null {
  const perDay = new Map<string, bigint>();
  for (const row of input.rows) {
    if (typeof row.units !== "string" || typeof row.day !== "string") return null;
    perDay.set(row.day, (perDay.get(row.day) ?? 0n) + parseScaled(row.units, SCALE));
  }
  const days: string[] = [];
  const first = [input.from.slice(0, 10), ...perDay.keys()].sort()[0]!;
  const last = [input.to.slice(0, 10), ...perDay.keys()].sort().at(-1)!;
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  let running = 0n;
  let peak = 0n;
  const cumulative = days.map((d) => {
    if (d < input.periodStartDate) return null;
    running += perDay.get(d) ?? 0n;
    peak = running;
    return formatScaled(running, SCALE);
  });
  const levels: ChartLevel[] = [];
  const covered = parseScaled(input.includedUnits, SCALE) + (input.grantedUnits === null ? 0n : parseScaled(input.grantedUnits, SCALE));
  if (covered > 0n) levels.push({ label: "Included + granted", value: formatScaled(covered, SCALE) });
  // Tier boundaries up to the first one above this period's use: enough to see where it stands
  // without squashing the chart under a boundary far away.
  for (const [i, tier] of input.tiers.entries()) {
    if (tier.up_to === null || input.tiers.length < 2) break;
    const level = covered + parseScaled(tier.up_to, SCALE);
    levels.push({ label: `Tier ${i + 1} ends`, value: formatScaled(level, SCALE) });
    if (level > peak) break;
  }
  return { unit: input.unit, days, daily: days.map((d) => formatScaled(perDay.get(d) ?? 0n, SCALE)), cumulative, levels };
}
