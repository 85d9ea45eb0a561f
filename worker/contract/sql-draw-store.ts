// The live ledger's use and draw rows (shared/pricing/live/use-windows.ts) over DO SQLite
// (draws-schema.ts), for SqlLiveStore. Every query is one index seek on (key, start, record) — the
// neighbours of a position in one key — so re-windowing reads what it touches, never a key's history.
// Uses arrive mostly in order, each after every other of its key: so each key's last use and last
// draw are kept while known, and a question about a position at or past them is answered without a
// statement; so are the uses of sessions known (those created here have none). Uses and draws put
// wait among the store's pending rows (pending-rows.ts) and go out a batch at a time, and so does
// the key of a new session's checkout, its id given here. A new use costs no statement of its own,
// where it cost seven (a batch of one-record sessions rated by draws ran at 0.27 of the same by the
// hour). Written through; dropped with a rolled-back transaction.
import { checkoutKey, usePosition, type Draw, type TracePiece, type Use, type UsePosition } from "../../shared/pricing/index.ts";
import type { PendingRows } from "./pending-rows.ts";

type Row = Record<string, SqlStorageValue>;
const FAR = Number.MAX_SAFE_INTEGER;
/** Entries per cache: what a batch or a re-rating chunk touches, not the contract's keys or sessions. */
const CACHE = 20_000;

/** A key's last use and last draw by position (null: it has none). */
interface Tail { use: Use | null; draw: Draw | null }

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  if (map.size >= CACHE && !map.has(key)) map.clear();
  map.set(key, value);
}

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
  /** Flushes the store's pending rows (the uses and draws put among them) before each statement. */
  readonly #sql: SqlStorage;
  readonly #pending: PendingRows;
  readonly #keyIds = new Map<string, number>();
  /** Sessions' uses, while known (null: none). */
  readonly #uses = new Map<number, Use | null>();
  /** Keys' last use and draw, while known. */
  readonly #tails = new Map<string, Tail>();
  /** Sessions created here: no key of their own (a checkout's) exists yet. */
  readonly #fresh = new Set<number>();
  /** The next free draw_keys id, once asked (ids given here wait among the pending rows). */
  #nextKeyId: number | undefined;

  constructor(sql: SqlStorage, pending: PendingRows) {
    this.#sql = sql;
    this.#pending = pending;
  }

  #rows<T>(query: string, ...args: SqlStorageValue[]): T[] {
    return this.#sql.exec<T & Row>(query, ...args).toArray() as T[];
  }

  reset(): void {
    this.#keyIds.clear(); this.#uses.clear(); this.#tails.clear(); this.#fresh.clear();
    this.#nextKeyId = undefined;
  }

  /** A session just created: it has no use, and no checkout key of its own exists. */
  created(sessionId: number): void {
    remember(this.#uses, sessionId, null);
    if (this.#fresh.size >= CACHE) this.#fresh.clear();
    this.#fresh.add(sessionId);
  }

  /** The key's id (created when `create`); `isNew`: the caller knows it does not exist yet. */
  keyId(key: string, create = false, isNew = false): number | undefined {
    let id = this.#keyIds.get(key);
    if (id !== undefined) return id;
    if (isNew) {
      this.#nextKeyId ??= this.#rows<{ n: number }>("SELECT coalesce(max(id), 0) + 1 AS n FROM draw_keys")[0]!.n;
      id = this.#nextKeyId++;
      this.#pending.keys.push([id, key]);
      remember(this.#tails, key, { use: null, draw: null });
    } else if (create) {
      id = this.#rows<{ id: number }>("INSERT INTO draw_keys (key) VALUES (?) ON CONFLICT (key) DO NOTHING RETURNING id", key)[0]?.id;
      if (id !== undefined) {
        remember(this.#tails, key, { use: null, draw: null });
        if (this.#nextKeyId !== undefined && id >= this.#nextKeyId) this.#nextKeyId = id + 1;
      }
    }
    id ??= this.#rows<{ id: number }>("SELECT id FROM draw_keys WHERE key = ?", key)[0]?.id;
    if (id !== undefined) remember(this.#keyIds, key, id);
    return id;
  }

  /** The key's last use and draw (two statements the first time a key is asked about). */
  #tail(key: string): Tail {
    let tail = this.#tails.get(key);
    if (tail) return tail;
    const id = this.keyId(key);
    if (id === undefined) tail = { use: null, draw: null };
    else {
      const use = this.#rows<UseRow>(`SELECT x.*, ${SESSION} FROM draw_uses x WHERE x.key_id = ? ORDER BY x.start DESC, x.collector DESC, x.seq DESC LIMIT 1`, id)[0];
      const draw = this.#rows<DrawRow>(`SELECT x.*, ${SESSION} FROM draws x WHERE x.key_id = ? ORDER BY x.start DESC, x.collector DESC, x.seq DESC LIMIT 1`, id)[0];
      tail = { use: use ? this.#use({ ...use, key }) : null, draw: draw ? this.#draw(key, draw) : null };
    }
    remember(this.#tails, key, tail);
    return tail;
  }

  #use(r: UseRow & { key: string }): Use {
    return { session: r.session, key: r.key, start: r.start, ref: `${r.collector}:${r.seq}`, feature: r.feature, count: r.count, received_at: r.received_at };
  }

  use(sessionId: number | undefined): Use | undefined {
    if (sessionId === undefined) return undefined;
    const known = this.#uses.get(sessionId);
    if (known !== undefined) return known ?? undefined;
    const r = this.#rows<UseRow & { key: string }>(`SELECT x.*, k.key, ${SESSION} FROM draw_uses x JOIN draw_keys k ON k.id = x.key_id WHERE x.session_id = ?`, sessionId)[0];
    const use = r ? this.#use(r) : null;
    remember(this.#uses, sessionId, use);
    return use ?? undefined;
  }

  putUse(sessionId: number, u: Use): void {
    const [start, collector, seq] = position(u);
    // A checkout of a session created here has a key no one has had: its id needs no statement.
    const isNew = this.#fresh.delete(sessionId) && u.key === checkoutKey(u.session);
    this.#pending.uses.push([sessionId, this.keyId(u.key, true, isNew)!, start, collector, seq, u.feature, u.count, u.received_at]);
    const old = this.#uses.get(sessionId); // the row replaced, if the session had one
    if (old !== null) this.#forget(old);
    remember(this.#uses, sessionId, u);
    const tail = this.#tails.get(u.key);
    if (tail && (tail.use === null || usePosition(u, tail.use) >= 0)) tail.use = u;
  }

  deleteUse(sessionId: number | undefined): void {
    if (sessionId === undefined) return;
    const old = this.#uses.get(sessionId);
    this.#sql.exec("DELETE FROM draw_uses WHERE session_id = ?", sessionId);
    remember(this.#uses, sessionId, null);
    if (old !== null) this.#forget(old);
  }

  /** A use gone: its key's last use is no longer known if it was that one (any key's, if it is not known which). */
  #forget(use: Use | undefined): void {
    if (use === undefined) return this.#tails.clear();
    const last = this.#tails.get(use.key)?.use;
    if (last && usePosition(last, use) === 0) this.#tails.delete(use.key);
  }

  nextUse(key: string, at: UsePosition, inclusive: boolean): Use | undefined {
    const last = this.#tail(key).use;
    if (last === null) return undefined;
    const c = usePosition(last, at);
    if (c < 0 || (c === 0 && !inclusive)) return undefined;
    if (c === 0) return last;
    const id = this.keyId(key)!;
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
    const last = this.#tail(key).draw;
    if (last === null) return undefined;
    if (usePosition(last.piece, at) < 0) return last;
    const id = this.keyId(key)!;
    const r = this.#rows<DrawRow>(`SELECT x.*, ${SESSION} FROM draws x WHERE x.key_id = ? AND (x.start, x.collector, x.seq) < (?, ?, ?)
      ORDER BY x.start DESC, x.collector DESC, x.seq DESC LIMIT 1`, id, ...position(at))[0];
    return r && this.#draw(key, r);
  }

  nextDraw(key: string, at: UsePosition, inclusive: boolean): Draw | undefined {
    const last = this.#tail(key).draw;
    if (last === null) return undefined;
    const c = usePosition(last.piece, at);
    if (c < 0 || (c === 0 && !inclusive)) return undefined;
    if (c === 0) return last;
    const id = this.keyId(key)!;
    const r = this.#rows<DrawRow>(`SELECT x.*, ${SESSION} FROM draws x WHERE x.key_id = ? AND (x.start, x.collector, x.seq) ${inclusive ? ">=" : ">"} (?, ?, ?)
      ORDER BY x.start, x.collector, x.seq LIMIT 1`, id, ...position(at))[0];
    return r && this.#draw(key, r);
  }

  putDraw(d: Draw, sourceNo: number, sessionId: number): void {
    const p = d.piece;
    const [start, collector, seq] = position(p);
    this.#pending.draws.push([this.keyId(d.key, true)!, start, collector, seq, sourceNo, sessionId, p.feature, p.period, p.arrival, p.segment, d.until, p.units.toString(), p.draws]);
    const tail = this.#tails.get(d.key);
    if (tail && (tail.draw === null || usePosition(p, tail.draw.piece) >= 0)) tail.draw = d;
  }

  deleteDraw(d: Draw): void {
    const id = this.keyId(d.key);
    if (id === undefined) return;
    this.#sql.exec("DELETE FROM draws WHERE key_id = ? AND start = ? AND collector = ? AND seq = ?", id, ...position(d.piece));
    const tail = this.#tails.get(d.key);
    if (tail?.draw && usePosition(tail.draw.piece, d.piece) === 0) this.#tails.delete(d.key);
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
