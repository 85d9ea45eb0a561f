// What a status link shows (DESIGN.md §7 `GET /status/:token`): the balance reduced to what the
// customer of this one contract may see. Deliberately left out: vendor, customer, contract and
// collector ids, user and host names, charges and money, quarantine and equivocation details.
// Sites appear by the name given at enrollment, which the customer's admin chose.
import type { ContractBalance as Balance } from "./contract/billing-requests.ts";
import type { EnforcementEntry } from "./contract/enforcement-log.ts";
import { instant } from "./instant.ts";

export interface CustomerStatus {
  as_of: string;
  unit_name: string;
  /** null until the contract has a prepaid grant (or until pricing computes units). */
  remaining_units: string | null;
  granted_units: string | null;
  /** `ok | low | exhausted | blocked` once pricing lands; null before. */
  status: string | null;
  period: { start: string; end: string; start_date: string };
  /** `draws`: use windows opened or licenses checked out (0 for a feature rated by the hour). */
  usage: { license_seconds: number; units: string | null; by_feature: Array<{ feature: string; license_seconds: number; units: string | null; draws: number }> };
  stale: boolean;
  sites: Array<{ site: string; last_sync: string | null; stale: boolean }>;
  /** The sites' latest site-side enforcement changes, newest first (site names only). */
  enforcement: Array<{ site: string; action: string; features: string[]; at: string; result: string }>;
}

/** Fields pricing adds to the balance; read defensively so this works before and after it lands. */
interface PricedFields {
  remaining_units?: string | null; granted_units?: string | null; status?: string;
  usage: { units?: string; by_feature: Array<{ feature: string; license_seconds: number; units?: string; draws?: number }> };
}

export function customerStatus(balance: Balance, enforcement: EnforcementEntry[] = []): CustomerStatus {
  const priced = balance as Balance & PricedFields;
  const usage = balance.usage as PricedFields["usage"];
  return {
    as_of: balance.as_of,
    unit_name: balance.unit_name,
    remaining_units: priced.remaining_units ?? null,
    granted_units: priced.granted_units ?? null,
    status: priced.status ?? null,
    period: { start: balance.period.start, end: balance.period.end, start_date: balance.period.start_date },
    usage: {
      license_seconds: balance.usage.license_seconds,
      units: usage.units ?? null,
      by_feature: usage.by_feature.map((f) => ({ feature: f.feature, license_seconds: f.license_seconds, units: f.units ?? null, draws: f.draws ?? 0 })),
    },
    stale: balance.stale,
    sites: balance.collectors
      .map((c) => ({ site: c.site, last_sync: c.last_sync, stale: c.stale }))
      .sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0)),
    enforcement: enforcement.map((e) => ({ site: e.site, action: e.action, features: e.features, at: instant(e.at), result: e.result })),
  };
}
