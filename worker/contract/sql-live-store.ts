// The live ledger's store (shared/pricing/live/store.ts) over the ContractDO's SQLite tables
// (billing-schema.ts). Every query is bounded by an index range — a session, a period, a segment
// page, a seq range — so nothing here reads a contract's whole history or holds it in memory.
// Collectors are interned as small source numbers, and sessions as ids, to keep the per-record rows
// small; units are bigint numerators as decimal TEXT. Beside it: the source numbers and sessions
// (sql-sessions.ts), the running aggregates (sql-aggregates.ts), use windows and draws
// (sql-draw-store.ts), frozen statements (statement-rows.ts) and the batch's buffered rows
// (pending-rows.ts).
import {
  type BucketKey, type Draw, type GrantState, type LineValue, type LiveMeta, type LiveStore, type PricedLine, type RatedPiece,
  type SessionState, type Statement, type TracePiece, type UsageBucket, type UsageInterval, type Use, type UsePosition,
} from "../../shared/pricing/index.ts";
import { mergePieces, SqlDraws } from "./sql-draw-store.ts";
import { SqlAggregates } from "./sql-aggregates.ts";
import { addCarried, carried, frozenLine, frozenStatement, lastFrozen, saveFrozen } from "./statement-rows.ts";
import { PendingRows } from "./pending-rows.ts";
import { splitKey, SqlSessions } from "./sql-sessions.ts";

type Row = Record<string, SqlStorageValue>;
const FAR = Number.MAX_SAFE_INTEGER;

interface IntervalRow { source_no: number; seq: number; session_id: number; feature: string; start: number; end: number; count: number; received_at: number }

function splitRef(ref: string): [string, number] {
  const at = ref.lastIndexOf(":");
  return [ref.slice(0, at), Number(ref.slice(at + 1))];
}

export class SqlLiveStore implements LiveStore {
  /** Flushes the pending writes before each statement. */
  readonly #sql: SqlStorage;
  readonly #raw: SqlStorage;
  /** A batch's rows, written as a few multi-row statements before the store's next statement. */
  readonly #pending = new PendingRows();
  /** Source numbers and sessions, with their caches (sql-sessions.ts). */
  readonly #sessions: SqlSessions;
  readonly #draws: SqlDraws;
  readonly #aggregates: SqlAggregates;

  constructor(sql: SqlStorage) {
    this.#raw = sql;
    this.#sql = { exec: (query: string, ...args: SqlStorageValue[]) => { this.flush(); return sql.exec(query, ...args); } } as SqlStorage;
    this.#draws = new SqlDraws(this.#sql, this.#pending);
    this.#sessions = new SqlSessions(this.#sql, sql, (id) => this.#draws.created(id));
    this.#aggregates = new SqlAggregates(this.#sql);
  }

  /** Writes the pending intervals, pieces and session cursors (a no-op when there are none). */
  flush(): void {
    this.#pending.flush(this.#raw);
  }

  /** Looks up (and creates the missing) sessions of a batch's intervals in a few statements. */
  openSessions(intervals: UsageInterval[]): void {
    this.#sessions.open(intervals);
  }

  #rows<T>(query: string, ...args: SqlStorageValue[]): T[] {
    return this.#sql.exec<T & Row>(query, ...args).toArray() as T[];
  }

  #one<T>(query: string, ...args: SqlStorageValue[]): T | undefined {
    return this.#rows<T>(query, ...args)[0];
  }

  /** The source number of a collector (created on first use when `create`). */
  source(collectorId: string, create = false): number | undefined {
    return this.#sessions.source(collectorId, create);
  }

  collectorOf(no: number): string {
    return this.#sessions.collectorOf(no);
  }

  /** Forgets cached source numbers (a rolled-back transaction may have created some). */
  reset(): void {
    this.#sessions.reset(); this.#draws.reset();
    this.#pending.clear();
  }

  meta(): LiveMeta | undefined {
    const r = this.#one<{ terms_rev: number; adjust_from: number; job_json: string | null }>("SELECT terms_rev, adjust_from, job_json FROM rating_state");
    return r && { terms_rev: r.terms_rev, adjust_from: r.adjust_from, job: r.job_json === null ? null : JSON.parse(r.job_json) };
  }

  saveMeta(m: LiveMeta): void {
    this.#sql.exec(`INSERT INTO rating_state (one, terms_rev, adjust_from, job_json) VALUES (1, ?, ?, ?)
      ON CONFLICT (one) DO UPDATE SET terms_rev = excluded.terms_rev, adjust_from = excluded.adjust_from, job_json = excluded.job_json`,
    m.terms_rev, m.adjust_from, m.job === null ? null : JSON.stringify(m.job));
  }

  session(key: string): SessionState | undefined {
    return this.#sessions.state(key);
  }

  saveSession(key: string, s: SessionState): void {
    const c = s.cursor;
    const id = this.#sessions.id(key);
    this.#pending.sessions.set(id, [id, s.rev, c?.first_start ?? null, c?.rounding.increment_ms ?? null, c?.rounding.minimum_ms ?? null, c?.rounding.grace_ms ?? null, c?.cum_ms ?? null, c?.last_end ?? null]);
    this.#sessions.remember(key, { id, state: { rev: s.rev, cursor: c && { ...c, rounding: { ...c.rounding } } } });
  }

  putInterval(iv: UsageInterval): void {
    const [collector, seq] = splitRef(iv.ref);
    this.#pending.intervals.push([this.source(collector, true)!, seq, this.#sessions.id(iv.session, iv), iv.feature, iv.start, iv.end, iv.count, iv.received_at]);
  }

  deleteInterval(ref: string): void {
    const [collector, seq] = splitRef(ref);
    const no = this.source(collector);
    this.#sql.exec("DELETE FROM rated_pieces WHERE source_no = ? AND seq = ?", no ?? -1, seq);
    this.#sql.exec("DELETE FROM usage_intervals WHERE source_no = ? AND seq = ?", no ?? -1, seq);
  }

  #interval(r: IntervalRow, session: string): UsageInterval {
    return { ref: `${this.collectorOf(r.source_no)}:${r.seq}`, session, feature: r.feature, start: r.start, end: r.end, count: r.count, received_at: r.received_at };
  }

  sessionIntervals(key: string): UsageInterval[] {
    const s = this.#sessions.row(key);
    if (!s) return [];
    const who = { user: s.user_name ?? "", host: s.host_name ?? "", site: splitKey(key)[0] };
    return this.#rows<IntervalRow>(`SELECT * FROM usage_intervals WHERE session_id = ?`, s.id).map((r) => ({ ...this.#interval(r, key), ...who }));
  }

  sessionPieces(key: string): RatedPiece[] {
    const s = this.#sessions.row(key);
    if (!s) return [];
    return this.#rows<IntervalRow & { p_start: number; p_end: number; period: number; arrival: number; segment: number; billed_ms: number; units: string; rated: number }>(
      `SELECT i.source_no, i.seq, i.feature, i.count, p.start AS p_start, p."end" AS p_end, p.period, p.arrival, p.segment, p.billed_ms, p.units, p.rated
       FROM usage_intervals i JOIN rated_pieces p ON p.source_no = i.source_no AND p.seq = i.seq WHERE i.session_id = ?`, s.id,
    ).map((r) => ({
      ref: `${this.collectorOf(r.source_no)}:${r.seq}`, feature: r.feature, session: key, period: r.period, arrival: r.arrival, segment: r.segment,
      start: r.p_start, end: r.p_end, license_ms: (r.p_end - r.p_start) * r.count, billed_ms: r.billed_ms, units: BigInt(r.units), rated: r.rated === 1, draws: 0,
    }));
  }

  putPieces(pieces: RatedPiece[]): void {
    for (const p of pieces) {
      const [collector, seq] = splitRef(p.ref);
      this.#pending.pieces.push([this.source(collector, true)!, seq, p.start, p.end, p.period, p.arrival, p.segment, p.billed_ms, p.units.toString(), p.rated ? 1 : 0]);
    }
  }

  deleteSessionPieces(key: string): void {
    const s = this.#sessions.row(key);
    if (s) this.#sql.exec("DELETE FROM rated_pieces WHERE (source_no, seq) IN (SELECT source_no, seq FROM usage_intervals WHERE session_id = ?)", s.id);
  }

  use(session: string): Use | undefined { return this.#draws.use(this.#sessions.knownId(session)); }
  putUse(use: Use): void { this.#draws.putUse(this.#sessions.id(use.session), use); }
  deleteUse(session: string): void { this.#draws.deleteUse(this.#sessions.knownId(session)); }
  nextUse(key: string, at: UsePosition, inclusive: boolean): Use | undefined { return this.#draws.nextUse(key, at, inclusive); }
  prevDraw(key: string, at: UsePosition): Draw | undefined { return this.#draws.prevDraw(key, at); }
  nextDraw(key: string, at: UsePosition, inclusive: boolean): Draw | undefined { return this.#draws.nextDraw(key, at, inclusive); }
  putDraw(draw: Draw): void { this.#draws.putDraw(draw, this.source(splitRef(draw.piece.ref)[0], true)!, this.#sessions.id(draw.piece.session)); }
  deleteDraw(draw: Draw): void { this.#draws.deleteDraw(draw); }
  periodDraws(period: number, feature: string, cutoff: number, after: UsePosition | null): Iterable<TracePiece> { return this.#draws.periodDraws(period, feature, cutoff, after); }

  bucket(k: BucketKey): UsageBucket | undefined { return this.#aggregates.bucket(k); }
  saveBucket(b: UsageBucket): void { this.#aggregates.saveBucket(b); }
  deleteBucket(k: BucketKey): void { this.#aggregates.deleteBucket(k); }
  periodBuckets(period: number): UsageBucket[] { return this.#aggregates.periodBuckets(period); }
  nextBucketPeriod(after: number): number | undefined { return this.#aggregates.nextBucketPeriod(after); }
  prevBucketPeriod(before: number): number | undefined { return this.#aggregates.prevBucketPeriod(before); }
  firstLatePeriod(after: number, upTo: number, before: number): number | undefined { return this.#aggregates.firstLatePeriod(after, upTo, before); }
  foldEnd(period: number): GrantState | undefined { return this.#aggregates.foldEnd(period); }
  foldEndBefore(period: number): GrantState | undefined { return this.#aggregates.foldEndBefore(period); }
  saveFoldEnd(period: number, state: GrantState): void { this.#aggregates.saveFoldEnd(period, state); }
  deleteFoldEnd(period: number): void { this.#aggregates.deleteFoldEnd(period); }

  lastFrozen(): number { return lastFrozen(this.#sql); }
  frozen(index: number): Statement | undefined { return frozenStatement(this.#sql, index); }
  saveFrozen(index: number, s: Statement, priced: PricedLine[], at: number): void { saveFrozen(this.#sql, index, s, priced, at); }
  frozenLine(index: number, lineId: string): Pick<PricedLine, "kind" | "ranges"> | undefined { return frozenLine(this.#sql, index, lineId); }
  carried(period: number): Map<string, LineValue> { return carried(this.#sql, period); }
  addCarried(period: number, lineId: string, v: LineValue): void { addCarried(this.#sql, period, lineId, v); }

  countOverlapping(from: number, to: number | null): number {
    // Counted on the (end, start) index alone: no table row is read.
    return this.#one<{ n: number }>(`SELECT count(*) AS n FROM usage_intervals WHERE "end" > ? AND start < ?`, from, to ?? FAR)!.n;
  }

  overlapping(from: number, to: number | null, after: { end: number; ref: string } | null, limit: number): UsageInterval[] {
    const [collector, seq] = after ? splitRef(after.ref) : ["", 0];
    // The cursor's end is the seek: `end >= after.end` (which implies `end > from`) starts the
    // (end, start) index at the cursor. With `end > from` SQLite began at `from` and filtered every
    // interval the job had already visited, so each chunk cost more than the one before.
    const rows = after
      ? this.#rows<IntervalRow & { session: string }>(`SELECT i.*, s.name AS session FROM usage_intervals i JOIN rating_sessions s ON s.id = i.session_id
          WHERE i."end" >= ? AND i.start < ? AND (i."end", i.source_no, i.seq) > (?, ?, ?) ORDER BY i."end", i.source_no, i.seq LIMIT ?`,
        Math.max(after.end, from + 1), to ?? FAR, after.end, this.source(collector) ?? 0, seq, limit)
      : this.#rows<IntervalRow & { session: string }>(`SELECT i.*, s.name AS session FROM usage_intervals i JOIN rating_sessions s ON s.id = i.session_id
          WHERE i."end" > ? AND i.start < ? ORDER BY i."end", i.source_no, i.seq LIMIT ?`, from, to ?? FAR, limit);
    return rows.map((r) => this.#interval(r, `${this.collectorOf(r.source_no)}:${r.session}`));
  }

  *segmentPieces(segment: number, cutoff: number, after: { start: number; ref: string } | null): Iterable<TracePiece> {
    const [collector, seq] = after ? splitRef(after.ref) : ["", 0];
    const from: [number, number, number] | null = after ? [after.start, this.source(collector) ?? 0, seq] : null;
    const pieces = from
      ? this.#sql.exec<{ source_no: number; seq: number; start: number; units: string; arrival: number }>(
        `SELECT source_no, seq, start, units, arrival FROM rated_pieces WHERE segment = ? AND arrival <= ? AND (start, source_no, seq) > (?, ?, ?)
         ORDER BY start, source_no, seq`, segment, Math.min(cutoff, FAR), ...from)
      : this.#sql.exec<{ source_no: number; seq: number; start: number; units: string; arrival: number }>(
        "SELECT source_no, seq, start, units, arrival FROM rated_pieces WHERE segment = ? AND arrival <= ? ORDER BY start, source_no, seq", segment, Math.min(cutoff, FAR));
    for (const r of mergePieces(pieces, this.#draws.segmentDraws(segment, cutoff, from))) {
      yield { ref: `${this.collectorOf(r.source_no)}:${r.seq}`, start: r.start, units: r.units, arrival: r.arrival };
    }
  }

  /** The seqs of a collector's intervals in [fromSeq, toSeq] that the ledger holds (a key range). */
  ratedSeqs(collectorId: string, fromSeq: number, toSeq: number): Set<number> {
    const no = this.source(collectorId);
    if (no === undefined) return new Set();
    return new Set(this.#rows<{ seq: number }>("SELECT seq FROM usage_intervals WHERE source_no = ? AND seq BETWEEN ? AND ?", no, fromSeq, toSeq).map((r) => r.seq));
  }

  /**
   * A collector's usage intervals in [fromSeq, toSeq] (a step of a superseded fork branch), and the
   * other intervals of their sessions in (toSeq, restTo] (the rest of the branch, by the session
   * index): a session is then re-rated once for the whole branch, not once per step.
   */
  collectorIntervals(collectorId: string, fromSeq: number, toSeq: number, restTo = toSeq): UsageInterval[] {
    const no = this.source(collectorId);
    if (no === undefined) return [];
    const select = "SELECT i.*, s.name AS session FROM usage_intervals i JOIN rating_sessions s ON s.id = i.session_id";
    const rows = this.#rows<IntervalRow & { session: string }>(`${select} WHERE i.source_no = ? AND i.seq BETWEEN ? AND ?`, no, fromSeq, toSeq);
    if (restTo > toSeq) {
      for (const id of new Set(rows.map((r) => r.session_id))) {
        rows.push(...this.#rows<IntervalRow & { session: string }>(`${select} WHERE i.session_id = ? AND i.source_no = ? AND i.seq > ? AND i.seq <= ?`, id, no, toSeq, restTo));
      }
    }
    return rows.map((r) => this.#interval(r, `${collectorId}:${r.session}`));
  }
}
