// The live balance (DESIGN.md §7) as far as this issue goes: the open period's license-seconds
// per feature and the collectors' sync state. Units, grants and charges come with pricing.
import { instant } from "../instant.ts";
import { listChains } from "./chains.ts";
import { periodAt } from "./period.ts";
import type { ContractTerms } from "./terms.ts";
import { usageInPeriod } from "./usage.ts";

export interface CollectorStatus {
  collector_id: string; site: string; acked_seq: number; last_sync: string | null; stale: boolean; flags: string[];
}

export interface Balance {
  contract_id: string;
  as_of: string;
  period: { start: string; end: string; start_date: string };
  unit_name: string;
  currency: string;
  usage: { license_seconds: number; by_feature: Array<{ feature: string; license_seconds: number }> };
  quarantined_records: number;
  stale: boolean;
  collectors: CollectorStatus[];
}

export function readBalance(sql: SqlStorage, terms: ContractTerms, now: number): Balance {
  const period = periodAt(now, terms);
  const byFeature = usageInPeriod(sql, period.start);
  const total = byFeature.reduce((sum, f) => sum + f.license_s, 0n);
  const staleAfter = 2 * terms.expected_sync_s * 1000;
  const collectors = listChains(sql).map((c): CollectorStatus => ({
    collector_id: c.collector_id,
    site: c.site,
    acked_seq: c.hwm,
    last_sync: c.last_sync === null ? null : instant(c.last_sync),
    stale: now - (c.last_sync ?? c.enrolled_at) > staleAfter,
    flags: JSON.parse(c.flags_json) as string[],
  }));
  const quarantined = sql.exec<{ n: number }>("SELECT count(*) AS n FROM records WHERE quarantine IS NOT NULL").one().n;
  return {
    contract_id: terms.contract_id,
    as_of: instant(now),
    period: { start: instant(period.start), end: instant(period.end), start_date: period.start_date },
    unit_name: terms.unit_name,
    currency: terms.currency,
    // Numbers are exact below 2^53 license-seconds (285 million license-years).
    usage: { license_seconds: Number(total), by_feature: byFeature.map((f) => ({ feature: f.feature, license_seconds: Number(f.license_s) })) },
    quarantined_records: quarantined,
    stale: collectors.some((c) => c.stale),
    collectors,
  };
}
