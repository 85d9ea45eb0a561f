// The collectors' side of the live balance (DESIGN.md §7): each site's sync state and staleness and
// the count of quarantined records. The priced figures (usage, grants, charges) come from billing.ts.
import { instant } from "../instant.ts";
import { listChains } from "./chains.ts";
import type { ContractTerms } from "./terms.ts";

export interface CollectorStatus {
  collector_id: string; site: string; acked_seq: number; last_sync: string | null; stale: boolean; flags: string[];
}

export interface Balance {
  contract_id: string;
  as_of: string;
  quarantined_records: number;
  stale: boolean;
  collectors: CollectorStatus[];
}

export function readBalance(sql: SqlStorage, terms: ContractTerms, now: number): Balance {
  const staleAfter = 2 * terms.expected_sync_s * 1000;
  const collectors = listChains(sql).map((c): CollectorStatus => ({
    collector_id: c.collector_id,
    site: c.site,
    acked_seq: c.hwm,
    last_sync: c.last_sync === null ? null : instant(c.last_sync),
    // A revoked site may never sync again: it is not late (as it sends no site.stale, notices.ts).
    stale: c.revoked_at === null && now - (c.last_sync ?? c.enrolled_at) > staleAfter,
    flags: JSON.parse(c.flags_json) as string[],
  }));
  // Counted over the partial index of quarantined records only.
  const quarantined = sql.exec<{ n: number }>("SELECT count(*) AS n FROM records WHERE quarantine IS NOT NULL").one().n;
  return { contract_id: terms.contract_id, as_of: instant(now), quarantined_records: quarantined, stale: collectors.some((c) => c.stale), collectors };
}
