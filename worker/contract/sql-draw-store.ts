// The live ledger's use and draw rows (shared/pricing/live/use-windows.ts) over DO SQLite
// (draws-schema.ts), for SqlLiveStore. Every query is one index seek on (key, start, record) — the
// neighbours of a position in one key — so re-windowing reads what it touches, never a key's history.
import type { Draw, TracePiece, Use, UsePosition } from "../../shared/pricing/index.ts";

type Row = Record<string, SqlStorageValue>;
const FAR = Number.MAX_SAFE_INTEGER;

interface UseRow { session_id: number; start: number; collector: string; seq: number; feature: string; count: number; received_at: number; session: string }
interface DrawRow { start: number; collector: string; seq: number; feature: string; period: number; arrival: number; segment: number; until: number; units: string; draws: number; session: string }

/** The session key of a row joined to its session and source. */
const SESSION = "(SELECT c.collector_id || ':' || s.name FROM rating_sessions s JOIN rating_sources c ON c.no = s.source_no WHERE s.id = x.session_id) AS session";

/** `<collector>:<seq>`; the ref "" is before every record. */
function position(at: UsePosition): [number, string, number] {
  if (at.ref === "") return [at.start, "", -1];
  const i = at.ref.lastIndexOf(":");
  return [at.start, at.ref.slice(0, i), Number(at.ref.slice(i + 1))];
}

export class SqlDraws {
  readonly #sql: SqlStorage;
  readonly #keyIds = new Map<string, number>();

  constructor(sql: SqlStorage) {
    this.#sql = sql;
  }

  #rows<T>(query: string, ...args: SqlStorageValue[]): T[] {
    return this.#sql.exec<T & Row>(query, ...args).toArray() as T[];
  }

  reset(): void {
    this.#keyIds.clear();
  }

  keyId(key: string, create = false): number | undefined {
    let id = this.#keyIds.get(key);
    if (id !== undefined) return id;
    id = this.#rows<{ id: number }>("SELECT id FROM draw_keys WHERE key = ?", key)[0]?.id;
    if (id === undefined && create) id = this.#rows<{ id: number }>("INSERT INTO draw_keys (key) VALUES (?) RETURNING id", key)[0]!.id;
    if (id !== undefined) {
      if (this.#keyIds.size > 10_000) this.#keyIds.clear();
      this.#keyIds.set(key, id);
    }
    return id;
  }

  #use(r: UseRow & { key: string }): Use {
    return { session: r.session, key: r.key, start: r.start, ref: `${r.collector}:${r.seq}`, feature: r.feature, count: r.count, received_at: r.received_at };
  }

  use(sessionId: number | undefined): Use | undefined {
    if (sessionId === undefined) return undefined;
    const r = this.#rows<UseRow & { key: string }>(`SELECT x.*, k.key, ${SESSION} FROM draw_uses x JOIN draw_keys k ON k.id = x.key_id WHERE x.session_id = ?`, sessionId)[0];
    return r && this.#use(r);
  }

  putUse(sessionId: number, u: Use): void {
    const [start, collector, seq] = position(u);
    this.#sql.exec(`INSERT OR REPLACE INTO draw_uses (session_id, key_id, start, collector, seq, feature, count, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      sessionId, this.keyId(u.key, true)!, start, collector, seq, u.feature, u.count, u.received_at);
  }

  deleteUse(sessionId: number | undefined): void {
    if (sessionId !== undefined) this.#sql.exec("DELETE FROM draw_uses WHERE session_id = ?", sessionId);
  }

  nextUse(key: string, at: UsePosition, inclusive: boolean): Use | undefined {
    const id = this.keyId(key);
    if (id === undefined) return undefined;
    const r = this.#rows<UseRow>(`SELECT x.*, ${SESSION} FROM draw_uses x WHERE x.key_id = ? AND (x.start, x.collector, x.seq) ${inclusive ? ">=" : ">"} (?, ?, ?)
      ORDER BY x.start, x.collector, x.seq LIMIT 1`, id, ...position(at))[0];
    return r && this.#use({ ...r, key });
  }

  #draw(key: string, r: DrawRow): Draw {
    return {
      key, until: r.until,
      piece: {
        ref: `${r.collector}:${r.seq}`, feature: r.feature, session: r.session, period: r.period, arrival: r.arrival, segment: r.segment,
        start: r.start, end: r.until, license_ms: 0, billed_ms: 0, units: BigInt(r.units), rated: true, draws: r.draws,
      },
    };
  }

  prevDraw(key: string, at: UsePosition): Draw | undefined {
    const id = this.keyId(key);
    if (id === undefined) return undefined;
    const r = this.#rows<DrawRow>(`SELECT x.*, ${SESSION} FROM draws x WHERE x.key_id = ? AND (x.start, x.collector, x.seq) < (?, ?, ?)
      ORDER BY x.start DESC, x.collector DESC, x.seq DESC LIMIT 1`, id, ...position(at))[0];
    return r && this.#draw(key, r);
  }

  nextDraw(key: string, at: UsePosition, inclusive: boolean): Draw | undefined {
    const id = this.keyId(key);
    if (id === undefined) return undefined;
    const r = this.#rows<DrawRow>(`SELECT x.*, ${SESSION} FROM draws x WHERE x.key_id = ? AND (x.start, x.collector, x.seq) ${inclusive ? ">=" : ">"} (?, ?, ?)
      ORDER BY x.start, x.collector, x.seq LIMIT 1`, id, ...position(at))[0];
    return r && this.#draw(key, r);
  }

  putDraw(d: Draw, sourceNo: number, sessionId: number): void {
    const p = d.piece;
    const [start, collector, seq] = position(p);
    this.#sql.exec(`INSERT OR REPLACE INTO draws (key_id, start, collector, seq, source_no, session_id, feature, period, arrival, segment, until, units, draws)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    this.keyId(d.key, true)!, start, collector, seq, sourceNo, sessionId, p.feature, p.period, p.arrival, p.segment, d.until, p.units.toString(), p.draws);
  }

  deleteDraw(d: Draw): void {
    const id = this.keyId(d.key);
    if (id !== undefined) this.#sql.exec("DELETE FROM draws WHERE key_id = ? AND start = ? AND collector = ? AND seq = ?", id, ...position(d.piece));
  }

  /** A period's draws of `feature` that arrived by `cutoff`, in (start, record) order, after `after`. */
  *periodDraws(period: number, feature: string, cutoff: number, after: UsePosition | null): Iterable<TracePiece> {
    const rows = after
      ? this.#sql.exec<{ start: number; collector: string; seq: number; units: string; arrival: number }>(
        `SELECT start, collector, seq, units, arrival FROM draws WHERE period = ? AND feature = ? AND arrival <= ? AND (start, collector, seq) > (?, ?, ?)
         ORDER BY start, collector, seq`, period, feature, Math.min(cutoff, FAR), ...position(after))
      : this.#sql.exec<{ start: number; collector: string; seq: number; units: string; arrival: number }>(
        "SELECT start, collector, seq, units, arrival FROM draws WHERE period = ? AND feature = ? AND arrival <= ? ORDER BY start, collector, seq",
        period, feature, Math.min(cutoff, FAR));
    for (const r of rows) yield { ref: `${r.collector}:${r.seq}`, start: r.start, units: BigInt(r.units), arrival: r.arrival };
  }

  /** A segment's draws that arrived by `cutoff`, in (start, source_no, seq) order, after `after` (as numbers). */
  *segmentDraws(segment: number, cutoff: number, after: [number, number, number] | null): Iterable<{ source_no: number; seq: number; start: number; units: string; arrival: number }> {
    yield* after
      ? this.#sql.exec<{ source_no: number; seq: number; start: number; units: string; arrival: number }>(
        `SELECT source_no, seq, start, units, arrival FROM draws WHERE segment = ? AND arrival <= ? AND (start, source_no, seq) > (?, ?, ?)
         ORDER BY start, source_no, seq`, segment, Math.min(cutoff, FAR), ...after)
      : this.#sql.exec<{ source_no: number; seq: number; start: number; units: string; arrival: number }>(
        "SELECT source_no, seq, start, units, arrival FROM draws WHERE segment = ? AND arrival <= ? ORDER BY start, source_no, seq", segment, Math.min(cutoff, FAR));
  }
}

/** Merges a segment's license-time pieces and draws, both in (start, source, seq) order; one record's two at one start are one. */
export function* mergePieces<T extends { source_no: number; seq: number; start: number; units: string; arrival: number }>(a: Iterable<T>, b: Iterable<T>): Iterable<TracePieceRow> {
  const ia = a[Symbol.iterator](), ib = b[Symbol.iterator]();
  let x = ia.next(), y = ib.next();
  const order = (p: T, q: T) => p.start - q.start || p.source_no - q.source_no || p.seq - q.seq;
  while (!x.done || !y.done) {
    if (y.done || (!x.done && order(x.value, y.value) < 0)) { yield row(x.value); x = ia.next(); continue; }
    if (x.done || order(x.value, y.value) > 0) { yield row(y.value); y = ib.next(); continue; }
    yield { ...row(x.value), units: BigInt(x.value.units) + BigInt(y.value.units) };
    x = ia.next(); y = ib.next();
  }
}

export type TracePieceRow = Omit<TracePiece, "ref"> & { source_no: number; seq: number };
function row(r: { source_no: number; seq: number; start: number; units: string; arrival: number }): TracePieceRow {
  return { source_no: r.source_no, seq: r.seq, start: r.start, units: BigInt(r.units), arrival: r.arrival };
}
