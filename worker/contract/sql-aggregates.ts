// The live ledger's running aggregates over DO SQLite (billing-schema.ts), for SqlLiveStore: the
// usage buckets (period × grant segment × arrival × feature: license-time, billed time, units) that
// a batch moves by its own pieces, and each period's fold end (the grants' remaining units when it
// closes). Every query is one index seek or a range of one period.
import type { BucketKey, GrantState, UsageBucket } from "../../shared/pricing/index.ts";

type Row = Record<string, SqlStorageValue>;
const FAR = Number.MAX_SAFE_INTEGER;

interface BucketRow { period: number; segment: number; arrival: number; feature: string; license_ms: number; billed_ms: number; units: string; rated: number; draws: number; pieces: number }

function bucketOf(r: BucketRow): UsageBucket {
  return { period: r.period, segment: r.segment, arrival: r.arrival, feature: r.feature, license_ms: r.license_ms, billed_ms: r.billed_ms, units: BigInt(r.units), rated: r.rated === 1, draws: r.draws, pieces: r.pieces };
}

function stateFromJson(json: string): GrantState {
  return new Map(Object.entries(JSON.parse(json) as Record<string, string>).map(([id, v]) => [id, BigInt(v)]));
}

function stateToJson(state: GrantState): string {
  return JSON.stringify(Object.fromEntries([...state].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, v]) => [id, v.toString()])));
}

export class SqlAggregates {
  readonly #sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  #rows<T>(query: string, ...args: SqlStorageValue[]): T[] {
    return this.#sql.exec<T & Row>(query, ...args).toArray() as T[];
  }

  #one<T>(query: string, ...args: SqlStorageValue[]): T | undefined {
    return this.#rows<T>(query, ...args)[0];
  }

  bucket(k: BucketKey): UsageBucket | undefined {
    const r = this.#one<BucketRow>("SELECT * FROM usage_buckets WHERE period = ? AND segment = ? AND arrival = ? AND feature = ?", k.period, k.segment, k.arrival, k.feature);
    return r && bucketOf(r);
  }

  saveBucket(b: UsageBucket): void {
    this.#sql.exec(`INSERT INTO usage_buckets (period, segment, arrival, feature, license_ms, billed_ms, units, rated, draws, pieces) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET license_ms = excluded.license_ms, billed_ms = excluded.billed_ms, units = excluded.units, rated = excluded.rated, draws = excluded.draws, pieces = excluded.pieces`,
    b.period, b.segment, b.arrival, b.feature, b.license_ms, b.billed_ms, b.units.toString(), b.rated ? 1 : 0, b.draws, b.pieces);
  }

  deleteBucket(k: BucketKey): void {
    this.#sql.exec("DELETE FROM usage_buckets WHERE period = ? AND segment = ? AND arrival = ? AND feature = ?", k.period, k.segment, k.arrival, k.feature);
  }

  periodBuckets(period: number): UsageBucket[] {
    return this.#rows<BucketRow>("SELECT * FROM usage_buckets WHERE period = ? ORDER BY segment, arrival, feature", period).map(bucketOf);
  }

  nextBucketPeriod(after: number): number | undefined {
    return this.#one<{ p: number | null }>("SELECT min(period) AS p FROM usage_buckets WHERE period > ?", after)?.p ?? undefined;
  }

  prevBucketPeriod(before: number): number | undefined {
    return this.#one<{ p: number | null }>("SELECT max(period) AS p FROM usage_buckets WHERE period < ?", before)?.p ?? undefined;
  }

  firstLatePeriod(after: number, upTo: number, before: number): number | undefined {
    return this.#one<{ p: number | null }>("SELECT min(period) AS p FROM usage_buckets WHERE arrival > ? AND arrival <= ? AND period < ?",
      after, Math.min(upTo, FAR), before)?.p ?? undefined;
  }

  foldEnd(period: number): GrantState | undefined {
    const r = this.#one<{ state_json: string }>("SELECT state_json FROM period_folds WHERE period = ?", period);
    return r && stateFromJson(r.state_json);
  }

  foldEndBefore(period: number): GrantState | undefined {
    const r = this.#one<{ state_json: string }>("SELECT state_json FROM period_folds WHERE period < ? ORDER BY period DESC LIMIT 1", period);
    return r && stateFromJson(r.state_json);
  }

  saveFoldEnd(period: number, state: GrantState): void {
    this.#sql.exec("INSERT INTO period_folds (period, state_json) VALUES (?, ?) ON CONFLICT (period) DO UPDATE SET state_json = excluded.state_json", period, stateToJson(state));
  }

  deleteFoldEnd(period: number): void {
    this.#sql.exec("DELETE FROM period_folds WHERE period = ?", period);
  }
}
