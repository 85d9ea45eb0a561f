// Everything the contract page shows, read through the API in-process (in-process-api.ts), in
// parallel. Each part that the edge cannot answer (an endpoint not deployed yet, or an error) is
// null and the page says so instead of failing: the console degrades part by part.
import { formatScaled, parseScaled } from "../../shared/decimal/decimal.ts";
import { instant } from "../instant.ts";
import { LocalHours } from "../../shared/time/local-hours.ts";
import { refusal, type ApiAnswer, type ConsoleApi } from "./in-process-api.ts";

/** The rate of the last RATE_DAYS days drives the burn-down forecast. */
export const RATE_DAYS = 7;
/** The chart covers the open period, and at least the last CHART_DAYS days. */
export const CHART_DAYS = 30;
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** Usage groups read per table (10 pages of 1,000): the page stays bounded for any contract. */
const USAGE_PAGES = 10;

export interface UsageRow { [dim: string]: unknown; license_seconds: number; units?: string | null; draws?: number; sessions?: number; denials?: number }

export interface ContractView {
  contract: { id: string; customer_id: string; plan: Record<string, any>; start: string; timezone: string; expected_sync_s: number };
  customer: string;
  balance: Record<string, any> | null;
  /** [from, to) of the chart and the day rows in it; null when the usage API is unavailable. */
  daily: { from: string; to: string; rows: UsageRow[] } | null;
  byFeature: UsageRow[] | null;
  byUser: UsageRow[] | null;
  bySite: UsageRow[] | null;
  /** Units used in the last RATE_DAYS days (null: unknown). */
  recentUnits: string | null;
  rateWindowMs: number;
  statement: Record<string, any> | null;
  sites: Array<Record<string, any>> | null;
  statusLinks: Array<Record<string, any>> | null;
  /** The latest site-side enforcement records (null: the edge cannot answer). */
  enforcement: Array<Record<string, any>> | null;
  now: number;
}

export async function loadContractView(api: ConsoleApi, id: string, now: number): Promise<ContractView | undefined> {
  const contract = await api.get(`/v1/contracts/${encodeURIComponent(id)}`);
  if (contract.status === 404) return undefined; // another vendor's id, or none
  // A contract the edge cannot serve at all (`storage_too_new`) fails the page, not one part of it.
  if (!contract.ok) throw refusal(contract, "the contract could not be read");
  const base = `/v1/contracts/${encodeURIComponent(id)}`;
  const balance = await api.get(`${base}/balance`);
  const period = balance.ok ? balance.body.period as { start: string; end: string } : undefined;
  // The usage API answers whole hours of the contract's zone: ranges start on one and end after now.
  const hours = new LocalHours(contract.body.timezone);
  const periodStart = hours.hourStart(period ? Date.parse(period.start) : now - CHART_DAYS * DAY_MS);
  const chartFrom = instant(hours.hourStart(Math.min(periodStart, startOfUtcDay(now) - (CHART_DAYS - 1) * DAY_MS)));
  const untilMs = hours.hourStart(now) + HOUR_MS;
  const until = instant(untilMs);
  const rateFrom = hours.hourStart(now - RATE_DAYS * DAY_MS);
  const periodFrom = instant(periodStart);
  const usage = (from: string, groupBy: string) => usageRows(api, `${base}/usage?from=${from}&to=${until}&group_by=${groupBy}`);
  const [customer, daily, byFeature, byUser, bySite, recent, statement, sites, links, enforcement] = await Promise.all([
    // One read by id: listing every customer to name one grew with the vendor's customers.
    api.get(`/v1/customers/${encodeURIComponent(contract.body.customer_id)}`),
    usage(chartFrom, "day"),
    usage(periodFrom, "feature"),
    usage(periodFrom, "user"),
    usage(periodFrom, "collector"),
    usage(instant(rateFrom), "feature"),
    api.get(`${base}/statement`),
    api.get(`${base}/collectors?limit=100`),
    api.get(`${base}/status-links?limit=100`),
    api.get(`${base}/enforcement?limit=10`),
  ]);
  return {
    contract: contract.body,
    customer: customer.ok ? customer.body.name as string : contract.body.customer_id,
    balance: balance.ok ? balance.body : null,
    daily: daily ? { from: chartFrom, to: until, rows: daily } : null,
    byFeature, byUser, bySite,
    recentUnits: recent ? sumUnits(recent) : null,
    rateWindowMs: untilMs - rateFrom,
    statement: statement.ok ? statement.body : null,
    sites: sites.ok ? sites.body.items : null,
    statusLinks: links.ok ? links.body.items : null,
    enforcement: enforcement.ok ? enforcement.body.items : null,
    now,
  };
}

/** Every group of a usage query (up to USAGE_PAGES pages), or null when the API cannot answer. */
async function usageRows(api: ConsoleApi, path: string): Promise<UsageRow[] | null> {
  const rows: UsageRow[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < USAGE_PAGES; page++) {
    const answer: ApiAnswer<{ items: UsageRow[]; next_cursor: string | null }> = await api.get(`${path}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!answer.ok) return null;
    rows.push(...answer.body.items);
    cursor = answer.body.next_cursor;
    if (!cursor) break;
  }
  return rows;
}

/** Σ units of the rows, exactly; null when the rows carry no units (the edge does not price yet). */
export function sumUnits(rows: UsageRow[]): string | null {
  let total = 0n;
  for (const r of rows) {
    if (typeof r.units !== "string") return rows.length === 0 ? "0" : null;
    total += parseScaled(r.units, 6);
  }
  return formatScaled(total, 6);
}

function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}
