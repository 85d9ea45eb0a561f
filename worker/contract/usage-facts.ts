// Usage facts: what one receipted record contributes to the usage history (DESIGN.md §7) — a
// rateable usage interval (license-time, rated units, maybe the start of its session) or a denial
// — and how a set of facts adds up into hourly rollup rows. Pure apart from `factsInRange`, which
// reads them from the ContractDO. The drain (rollup-drain.ts) and the reconciler (reconcile.ts)
// both sum facts with `addFacts`, so "rollups = Σ facts" has one definition.
import type { LocalHours } from "../../shared/time/local-hours.ts";
import { intervalUnits } from "./units-projection.ts";

export interface UsageFact {
  collector_id: string; seq: number; kind: "usage" | "denial"; session: string | null;
  feature: string; product: string; user: string; host: string;
  /** A denial: start = end = the instant it happened. */
  start: number; end: number; count: number;
  /** Units numerator (shared/pricing UNIT_DEN) as decimal text; "0" for a denial. */
  units_num: string;
}

/** A fact as D1 keeps it: `first` marks the interval its session is counted at. */
export interface StoredFact extends UsageFact { first: number }

export interface RollupKey { hour: number; collector_id: string; feature: string; product: string; user: string; host: string }
export interface RollupFigures { license_s: number; units: bigint; sessions: number; denials: number }
export interface RollupRow extends RollupKey, RollupFigures { day: string }

/** The identity of a rollup row, as a map key and as the JSON array SQL reads back. */
export function rollupKeyOf(k: RollupKey): string {
  return JSON.stringify([k.hour, k.collector_id, k.feature, k.product, k.user, k.host]);
}

export function parseRollupKey(key: string): RollupKey {
  const [hour, collector_id, feature, product, user, host] = JSON.parse(key) as [number, string, string, string, string, string];
  return { hour, collector_id, feature, product, user, host };
}

/** Adds `sign` × each fact's contribution to `into` (keyed by rollupKeyOf). */
export function addFacts(into: Map<string, RollupFigures>, facts: Iterable<StoredFact>, hours: LocalHours, sign: 1 | -1): void {
  const at = (fact: UsageFact, hour: number): RollupFigures => {
    const key = rollupKeyOf({ hour, collector_id: fact.collector_id, feature: fact.feature, product: fact.product, user: fact.user, host: fact.host });
    let figures = into.get(key);
    if (!figures) { figures = { license_s: 0, units: 0n, sessions: 0, denials: 0 }; into.set(key, figures); }
    return figures;
  };
  for (const f of facts) {
    if (f.kind === "denial") { at(f, hours.hourStart(f.start)).denials += sign; continue; }
    const first = at(f, hours.hourStart(f.start));
    first.units += BigInt(sign) * BigInt(f.units_num);
    first.sessions += sign * f.first;
    for (const piece of hours.pieces(f.start, f.end)) at(f, piece.hour).license_s += sign * (piece.ms / 1000) * f.count;
  }
}

export function isZero(f: RollupFigures): boolean {
  return f.license_s === 0 && f.units === 0n && f.sessions === 0 && f.denials === 0;
}

/** Whether two facts say the same thing (the `first` mark aside). */
export function sameFact(a: UsageFact, b: UsageFact): boolean {
  return a.collector_id === b.collector_id && a.seq === b.seq && a.kind === b.kind && a.session === b.session
    && a.feature === b.feature && a.product === b.product && a.user === b.user && a.host === b.host
    && a.start === b.start && a.end === b.end && a.count === b.count && a.units_num === b.units_num;
}

/** Earlier in its session: smaller start, then smaller seq. */
export function startsBefore(a: UsageFact, b: UsageFact): boolean {
  return a.start < b.start || (a.start === b.start && a.seq < b.seq);
}

interface RecordRow { seq: number; kind: string; record_json: string }
const text = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);

/** The DO's facts for a collector's seqs [fromSeq, toSeq]: its rateable usage and denials. */
export function factsInRange(sql: SqlStorage, collectorId: string, fromSeq: number, toSeq: number): UsageFact[] {
  const rows = sql.exec<RecordRow & Record<string, SqlStorageValue>>(
    `SELECT seq, kind, record_json FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ?
       AND kind IN ('usage', 'denial') AND quarantine IS NULL ORDER BY seq`, collectorId, fromSeq, toSeq).toArray();
  if (rows.length === 0) return [];
  const units = rows.some((r) => r.kind === "usage") ? intervalUnits(sql, collectorId, fromSeq, toSeq) : new Map<number, bigint>();
  return rows.map((r): UsageFact => {
    const d = (JSON.parse(r.record_json) as { data: Record<string, unknown> }).data;
    const common = { collector_id: collectorId, seq: r.seq, feature: text(d.feature), product: text(d.product), user: text(d.user), host: text(d.host) };
    if (r.kind === "denial") {
      const at = d.at as number;
      return { ...common, kind: "denial", session: null, start: at, end: at, count: 0, units_num: "0" };
    }
    return {
      ...common, kind: "usage", session: text(d.session), start: d.start as number, end: d.end as number, count: d.count as number,
      units_num: (units.get(r.seq) ?? 0n).toString(),
    };
  });
}
