// `collector status` offline (DESIGN.md §8): the remaining units the edge last published in the
// replica's `balance`, minus what this site used since the `acked_seq` that figure reflects.
//
// Usage is rated with shared/pricing against the plan in the replica's `terms` (`plan_versions`
// when the edge publishes them, else `plan` from the contract start), each session rated whole
// from the records the log still holds so rounding matches the edge's. When the plan does not
// parse as a full pricing plan, units = license-ms × count × rate / 3.6e6 per feature (`rates`,
// "*" the default), exact in bigint. Records already released from the log cannot be counted:
// `counted_from_seq` says where counting started.
import type { ContractDocJson, JsonObject } from "../../shared/contract-doc/index.ts";
import { parseScaled } from "../../shared/decimal/decimal.ts";
import {
  formatUnits, PricingError, pricingTerms, rateIntervals, unitsFromText, type PlanVersion, type UsageInterval,
} from "../../shared/pricing/index.ts";
import type { ChainRecord, UsageData } from "../../shared/protocol/index.ts";
import { decodeRecord } from "../chain/record-writer.ts";
import type { SegmentLog } from "../log/segment-log.ts";

export interface OfflineEstimate {
  /** As the edge last published it (null: no grant yet, or no balance pulled yet). */
  last_known_remaining_units: string | null;
  balance_as_of: string | null;
  /** This site's acked_seq that figure reflects. */
  reflects_acked_seq: number;
  counted_from_seq: number;
  used_since_units: string;
  estimated_remaining_units: string | null;
  rated_with: "shared/pricing" | "terms.rates";
}

export async function estimateRemaining(doc: ContractDocJson, collectorId: string, log: SegmentLog): Promise<OfflineEstimate | null> {
  if (Object.keys(doc.terms).length === 0) return null;
  const reflects = doc.balance?.collectors[collectorId]?.acked_seq ?? 0;
  const from = Math.max(1, log.firstSeq());
  const usage = await usageRecords(log, from, doc.terms);
  const { used, ratedWith } = unitsAbove(doc.terms, usage, reflects);
  const remaining = doc.balance?.remaining_units ?? null;
  const estimate = remaining === null ? null : unitsFromText(remaining) - used;
  return {
    last_known_remaining_units: remaining,
    balance_as_of: doc.balance?.as_of ?? null,
    reflects_acked_seq: reflects,
    counted_from_seq: Math.max(reflects + 1, from),
    used_since_units: formatUnits(used),
    estimated_remaining_units: estimate === null ? null : formatUnits(estimate < 0n ? 0n : estimate),
    rated_with: ratedWith,
  };
}

interface UsageRecord { seq: number; ts: number; data: UsageData }

/** Rateable, in-scope usage records from `from` on (what the edge would rate, not quarantine). */
async function usageRecords(log: SegmentLog, from: number, terms: JsonObject): Promise<UsageRecord[]> {
  const startAt = typeof terms.start_at === "string" ? Date.parse(terms.start_at) : 0;
  const scope = Array.isArray(terms.scope) ? (terms.scope as Array<{ daemon: string; features: string[] }>) : null;
  const out: UsageRecord[] = [];
  for (let seq = from; seq <= log.lastSeq();) {
    const entries = await log.read(seq, { maxCount: 1000 });
    for (const e of entries) {
      const record: ChainRecord = decodeRecord(e.payload, e.seq);
      if (record.kind !== "usage") continue;
      const d = record.data as UsageData;
      if (!(d.end > d.start && d.count >= 1 && d.start >= startAt)) continue;
      if (scope && !scope.some((s) => s.daemon === d.daemon && (s.features.includes("*") || s.features.includes(d.feature)))) continue;
      out.push({ seq: record.seq, ts: record.ts, data: d });
    }
    seq = entries[entries.length - 1]!.seq + 1;
  }
  return out;
}

function unitsAbove(terms: JsonObject, usage: UsageRecord[], reflects: number): { used: bigint; ratedWith: OfflineEstimate["rated_with"] } {
  const above = usage.filter((u) => u.seq > reflects);
  if (above.length === 0) return { used: 0n, ratedWith: "shared/pricing" };
  try {
    const versions = Array.isArray(terms.plan_versions)
      ? (terms.plan_versions as unknown as PlanVersion[])
      : [{ effective_at: 0, plan: terms.plan as unknown as PlanVersion["plan"] }];
    const pricing = pricingTerms({ start: String(terms.start_date), timezone: String(terms.timezone), period: terms.period as "month" }, versions, []);
    const sessions = new Set(above.map((u) => sessionKey(u.data)));
    // A use window depends on the key's earlier uses (a new use inside a reflected window draws
    // nothing): with draw rates every usage record of the period is rated, not only new sessions'.
    const draws = versions.some((v) => Object.values(v.plan.rates ?? {}).some((r) => typeof r !== "string"));
    const intervals: UsageInterval[] = usage.filter((u) => draws || sessions.has(sessionKey(u.data))).map((u) => ({
      ref: String(u.seq), feature: u.data.feature, session: sessionKey(u.data),
      start: u.data.start, end: u.data.end, count: u.data.count, received_at: u.ts, user: u.data.user, host: u.data.host,
    }));
    const used = rateIntervals(pricing, intervals).filter((p) => Number(p.ref) > reflects).reduce((sum, p) => sum + p.units, 0n);
    return { used, ratedWith: "shared/pricing" };
  } catch (e) {
    if (!(e instanceof PricingError)) throw e;
  }
  const rates = (terms.rates ?? {}) as Record<string, unknown>;
  let used = 0n;
  for (const { data: d } of above) {
    // Only license-hour rates here: a draw needs shared/pricing's windows.
    const given = rates[d.feature] ?? rates["*"];
    const rate = typeof given === "string" ? given : "0";
    used += BigInt(d.end - d.start) * BigInt(d.count) * parseScaled(rate, 12);
  }
  return { used, ratedWith: "terms.rates" };
}

function sessionKey(d: UsageData): string {
  return d.session; // grouped as the edge groups them: per collector, by session id
}
