// Rows the live store (sql-live-store.ts) writes many statements' worth at a time: a batch's
// intervals, rated pieces, session cursors, uses and draws are kept until the store's next
// statement and go out as a few multi-row statements (one bound JSON value each, so the
// 100-parameter limit never applies) instead of one statement per record. The store flushes them
// before every statement it runs, and the DO before every commit, so every read sees storage
// exactly as if each row had been written at once.
import { jsonChunks } from "./rollup-drain.ts";

const columns = (n: number) => Array.from({ length: n }, (_, i) => `json_extract(value, '$[${i}]')`).join(", ");

export class PendingRows {
  /** [source_no, seq, session_id, feature, start, end, count, received_at] */
  intervals: unknown[][] = [];
  /** [source_no, seq, start, end, period, arrival, segment, billed_ms, units, rated] */
  pieces: unknown[][] = [];
  /** By session id: [id, rev, first_start, increment_ms, minimum_ms, grace_ms, cum_ms, last_end] (the latest wins). */
  readonly sessions = new Map<number, unknown[]>();
  /** Keys given their id here (sql-draw-store.ts: a new session's checkout key): [id, key] */
  keys: unknown[][] = [];
  /** Uses put (sql-draw-store.ts), in order: [session_id, key_id, start, collector, seq, feature, count, received_at] */
  uses: unknown[][] = [];
  /** Draws put, in order: [key_id, start, collector, seq, source_no, session_id, feature, period, arrival, segment, until, units, draws] */
  draws: unknown[][] = [];

  /** Writes and forgets the pending rows (a no-op when there are none). */
  flush(sql: SqlStorage): void {
    if (this.intervals.length === 0 && this.pieces.length === 0 && this.sessions.size === 0 && this.keys.length === 0 && this.uses.length === 0 && this.draws.length === 0) return;
    for (const json of jsonChunks(this.intervals.splice(0))) {
      sql.exec(`INSERT INTO usage_intervals (source_no, seq, session_id, feature, start, "end", count, received_at) SELECT ${columns(8)} FROM json_each(?)`, json);
    }
    for (const json of jsonChunks(this.pieces.splice(0))) {
      sql.exec(`INSERT OR REPLACE INTO rated_pieces (source_no, seq, start, "end", period, arrival, segment, billed_ms, units, rated) SELECT ${columns(10)} FROM json_each(?)`, json);
    }
    const updates = [...this.sessions.values()];
    this.sessions.clear();
    for (const json of jsonChunks(updates)) {
      sql.exec(`UPDATE rating_sessions SET rev = json_extract(v.value, '$[1]'), first_start = json_extract(v.value, '$[2]'),
          increment_ms = json_extract(v.value, '$[3]'), minimum_ms = json_extract(v.value, '$[4]'), grace_ms = json_extract(v.value, '$[5]'),
          cum_ms = json_extract(v.value, '$[6]'), last_end = json_extract(v.value, '$[7]')
        FROM json_each(?) AS v WHERE rating_sessions.id = json_extract(v.value, '$[0]')`, json);
    }
    for (const json of jsonChunks(this.keys.splice(0))) sql.exec(`INSERT INTO draw_keys (id, key) SELECT ${columns(2)} FROM json_each(?)`, json);
    // In the order they were put (json_each's), so a later row replaces an earlier one as it would have.
    for (const json of jsonChunks(this.uses.splice(0))) {
      sql.exec(`INSERT OR REPLACE INTO draw_uses (session_id, key_id, start, collector, seq, feature, count, received_at) SELECT ${columns(8)} FROM json_each(?) ORDER BY key`, json);
    }
    for (const json of jsonChunks(this.draws.splice(0))) {
      sql.exec(`INSERT OR REPLACE INTO draws (key_id, start, collector, seq, source_no, session_id, feature, period, arrival, segment, until, units, draws)
        SELECT ${columns(13)} FROM json_each(?) ORDER BY key`, json);
    }
  }

  /** Drops the pending rows unwritten (their transaction rolled back). */
  clear(): void {
    this.intervals = []; this.pieces = []; this.sessions.clear(); this.keys = []; this.uses = []; this.draws = [];
  }
}
