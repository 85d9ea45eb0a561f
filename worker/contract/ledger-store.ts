// The rated ledger in DO SQLite (docs/pricing.md "Caching contract"): each new usage interval is
// rated once with its session's cursor and its pieces stored; an out-of-order interval re-rates
// only its session. The in-memory UsageLedger is the sum of the stored pieces, so a woken DO
// reloads it without rating anything. Rebuilding (new segment boundaries) is the one write that
// re-rates everything; reads never do.
import {
  addPieces, emptyLedger, rateNextInterval, rateSession, removePieces,
  type PricingTerms, type RatedPiece, type SessionCursor, type UsageInterval, type UsageLedger,
} from "../../shared/pricing/index.ts";

type Row = Record<string, SqlStorageValue>;
interface PieceRow { ref: string; start: number; end: number; session: string; feature: string; period: number; arrival: number; segment: number; license_ms: number; billed_ms: number; units: string; rated: number }
interface IntervalRow { ref: string; session: string; feature: string; start: number; end: number; count: number; received_at: number }

/** Where a usage record's interval came from: `${collector_id}:${seq}`. */
export function refOf(collectorId: string, seq: number): string {
  return `${collectorId}:${seq}`;
}

export function parseRef(ref: string): { collector_id: string; seq: number } {
  const at = ref.lastIndexOf(":");
  return { collector_id: ref.slice(0, at), seq: Number(ref.slice(at + 1)) };
}

function pieceOf(r: PieceRow): RatedPiece {
  return {
    ref: r.ref, feature: r.feature, session: r.session, period: r.period, arrival: r.arrival, segment: r.segment,
    start: r.start, end: r.end, license_ms: r.license_ms, billed_ms: r.billed_ms, units: BigInt(r.units), rated: r.rated === 1,
  };
}

function intervalOf(r: IntervalRow): UsageInterval {
  return { ref: r.ref, session: r.session, feature: r.feature, start: r.start, end: r.end, count: r.count, received_at: r.received_at };
}

/** The ledger as stored (fingerprint of the terms it was rated under). */
export function loadLedger(sql: SqlStorage, terms: PricingTerms): UsageLedger {
  const ledger = emptyLedger(terms);
  addPieces(ledger, sql.exec<PieceRow & Row>("SELECT * FROM rated_pieces ORDER BY ref, start").toArray().map(pieceOf));
  return ledger;
}

export class LedgerStore {
  readonly #sql: SqlStorage;
  readonly #cursors = new Map<string, SessionCursor | null>();

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  /** Forget cached cursors (after a rolled-back transaction or a rebuild). */
  reset(): void {
    this.#cursors.clear();
  }

  /** Rates new intervals into `ledger` and storage; returns the refs whose units changed. */
  add(terms: PricingTerms, ledger: UsageLedger, intervals: Array<UsageInterval & { collector_id: string; seq: number }>): Set<string> {
    const changed = new Set<string>();
    // A batch usually carries many intervals of one session: its cursor is written once, at the end.
    const advanced = new Map<string, SessionCursor>();
    for (const iv of intervals) {
      this.#sql.exec(
        `INSERT INTO usage_intervals (ref, collector_id, seq, session, feature, start, "end", count, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        iv.ref, iv.collector_id, iv.seq, iv.session, iv.feature, iv.start, iv.end, iv.count, iv.received_at);
      const next = rateNextInterval(terms, this.#cursor(iv.session), iv);
      if (next) {
        addPieces(ledger, next.pieces);
        this.#storePieces(next.pieces);
        this.#cursors.set(iv.session, next.cursor);
        advanced.set(iv.session, next.cursor);
        changed.add(iv.ref);
      } else {
        advanced.delete(iv.session);
        for (const ref of this.rerateSession(terms, ledger, iv.session)) changed.add(ref);
      }
    }
    for (const c of advanced.values()) this.#saveCursor(c);
    return changed;
  }

  /** Re-rates one session from its stored intervals (out-of-order arrival, or intervals removed). */
  rerateSession(terms: PricingTerms, ledger: UsageLedger, session: string): string[] {
    const old = this.#sql.exec<PieceRow & Row>("SELECT * FROM rated_pieces WHERE session = ?", session).toArray().map(pieceOf);
    removePieces(ledger, old);
    this.#sql.exec("DELETE FROM rated_pieces WHERE session = ?", session);
    const intervals = this.#sql.exec<IntervalRow & Row>(`SELECT ref, session, feature, start, "end", count, received_at FROM usage_intervals WHERE session = ?`, session)
      .toArray().map(intervalOf);
    const rated = rateSession(terms, intervals);
    addPieces(ledger, rated.pieces);
    this.#storePieces(rated.pieces);
    if (rated.cursor) this.#saveCursor(rated.cursor);
    else { this.#sql.exec("DELETE FROM session_cursors WHERE session = ?", session); this.#cursors.set(session, null); }
    return [...new Set([...old.map((p) => p.ref), ...intervals.map((i) => i.ref)])];
  }

  /** Takes a collector's intervals in [fromSeq, toSeq] out (a superseded fork branch). */
  remove(terms: PricingTerms, ledger: UsageLedger, collectorId: string, fromSeq: number, toSeq: number): void {
    const sessions = this.#sql.exec<{ session: string }>("SELECT DISTINCT session FROM usage_intervals WHERE collector_id = ? AND seq BETWEEN ? AND ?", collectorId, fromSeq, toSeq)
      .toArray().map((r) => r.session);
    this.#sql.exec("DELETE FROM usage_intervals WHERE collector_id = ? AND seq BETWEEN ? AND ?", collectorId, fromSeq, toSeq);
    for (const s of sessions) this.rerateSession(terms, ledger, s);
  }

  /** Re-rates every interval under new terms (segment boundaries, rates or rounding changed). */
  rebuild(terms: PricingTerms): UsageLedger {
    this.#sql.exec("DELETE FROM rated_pieces");
    this.#sql.exec("DELETE FROM session_cursors");
    this.#cursors.clear();
    const ledger = emptyLedger(terms);
    const bySession = new Map<string, UsageInterval[]>();
    for (const r of this.#sql.exec<IntervalRow & Row>(`SELECT ref, session, feature, start, "end", count, received_at FROM usage_intervals`)) {
      const list = bySession.get(r.session);
      if (list) list.push(intervalOf(r)); else bySession.set(r.session, [intervalOf(r)]);
    }
    for (const list of bySession.values()) {
      const rated = rateSession(terms, list);
      addPieces(ledger, rated.pieces);
      this.#storePieces(rated.pieces);
      if (rated.cursor) this.#saveCursor(rated.cursor);
    }
    return ledger;
  }

  /** Units (numerator) of each interval, for the D1 projection. */
  unitsOf(refs: string[]): Map<string, bigint> {
    const units = new Map<string, bigint>();
    for (const ref of refs) {
      let sum = 0n;
      for (const r of this.#sql.exec<{ units: string }>("SELECT units FROM rated_pieces WHERE ref = ?", ref)) sum += BigInt(r.units);
      units.set(ref, sum);
    }
    return units;
  }

  #cursor(session: string): SessionCursor | undefined {
    let c = this.#cursors.get(session);
    if (c === undefined) {
      const row = this.#sql.exec<{ cursor_json: string }>("SELECT cursor_json FROM session_cursors WHERE session = ?", session).toArray()[0];
      c = row ? (JSON.parse(row.cursor_json) as SessionCursor) : null;
      this.#cursors.set(session, c);
    }
    return c ?? undefined;
  }

  #saveCursor(c: SessionCursor): void {
    this.#cursors.set(c.session, c);
    this.#sql.exec("INSERT INTO session_cursors (session, cursor_json) VALUES (?, ?) ON CONFLICT (session) DO UPDATE SET cursor_json = excluded.cursor_json", c.session, JSON.stringify(c));
  }

  #storePieces(pieces: RatedPiece[]): void {
    for (const p of pieces) {
      this.#sql.exec(
        `INSERT INTO rated_pieces (ref, start, "end", session, feature, period, arrival, segment, license_ms, billed_ms, units, rated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        p.ref, p.start, p.end, p.session, p.feature, p.period, p.arrival, p.segment, p.license_ms, p.billed_ms, p.units.toString(), p.rated ? 1 : 0);
    }
  }
}
