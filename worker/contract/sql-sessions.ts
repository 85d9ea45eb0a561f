// The live store's interned ids over DO SQLite (billing-schema.ts), for SqlLiveStore: collectors as
// small source numbers (rating_sources) and sessions as ids (rating_sessions), each session's row
// holding its rating cursor. Source numbers are cached for good (a contract has few collectors);
// sessions in a bounded cache of the recently used, since a batch touches each a few times.
import type { SessionState, UsageInterval } from "../../shared/pricing/index.ts";
import { jsonChunks } from "./rollup-drain.ts";

type Row = Record<string, SqlStorageValue>;
const SESSION_CACHE = 20_000;

export interface SessionRow { id: number; rev: number; user_name: string | null; host_name: string | null; first_start: number | null; increment_ms: number; minimum_ms: number; grace_ms: number; cum_ms: number; last_end: number }

/** `<collector_id>:<rest>`: collector ids never contain a colon. */
export function splitKey(key: string): [string, string] {
  const at = key.indexOf(":");
  return [key.slice(0, at), key.slice(at + 1)];
}

export class SqlSessions {
  /** Flushes the store's pending writes before each statement. */
  readonly #sql: SqlStorage;
  readonly #raw: SqlStorage;
  /** Collector id ↔ source number: as many entries as the contract has collectors. */
  readonly #sourceNo = new Map<string, number>();
  readonly #sourceId = new Map<number, string>();
  /** Recently used sessions (id, and state once read or written): a batch touches each a few times. */
  readonly #sessions = new Map<string, { id: number; state?: SessionState }>();

  /** Told each session created (its id is new: nothing refers to it yet). */
  readonly #created: (id: number) => void;

  constructor(sql: SqlStorage, raw: SqlStorage, created: (id: number) => void) {
    this.#sql = sql;
    this.#raw = raw;
    this.#created = created;
  }

  /**
   * Looks up the sessions of intervals about to be added (a batch) in a few statements, and creates
   * the missing ones at once (in order of first appearance, with their first interval's user and
   * host, under the current terms revision: what putInterval would have created one by one).
   * Creating a session per statement made a batch of new sessions statement-bound.
   */
  open(intervals: UsageInterval[]): void {
    const byCollector = new Map<string, Map<string, UsageInterval>>();
    for (const iv of intervals) {
      if (this.#sessions.has(iv.session)) continue;
      const [collector, name] = splitKey(iv.session);
      let names = byCollector.get(collector);
      if (!names) byCollector.set(collector, names = new Map());
      if (!names.has(name)) names.set(name, iv);
    }
    for (const [collector, names] of byCollector) {
      const no = this.source(collector, true)!;
      for (const json of jsonChunks([...names.keys()].map((n) => [n]))) {
        for (const r of this.#rows<{ id: number; name: string }>(
          "SELECT id, name FROM rating_sessions WHERE source_no = ? AND name IN (SELECT json_extract(value, '$[0]') FROM json_each(?))", no, json)) {
          names.delete(r.name);
          this.remember(`${collector}:${r.name}`, { id: r.id });
        }
      }
      const missing = [...names].map(([name, iv]) => [name, iv.user ?? null, iv.host ?? null]);
      for (const json of jsonChunks(missing)) {
        const created = this.#rows<{ id: number; name: string; rev: number }>(
          `INSERT INTO rating_sessions (source_no, name, rev, user_name, host_name)
           SELECT ?, json_extract(value, '$[0]'), coalesce((SELECT terms_rev FROM rating_state), 0), json_extract(value, '$[1]'), json_extract(value, '$[2]')
           FROM json_each(?) ORDER BY key RETURNING id, name, rev`, no, json);
        for (const r of created) {
          this.remember(`${collector}:${r.name}`, { id: r.id, state: { cursor: null, rev: r.rev } });
          this.#created(r.id);
        }
      }
    }
  }

  #rows<T>(query: string, ...args: SqlStorageValue[]): T[] {
    return this.#sql.exec<T & Row>(query, ...args).toArray() as T[];
  }

  #one<T>(query: string, ...args: SqlStorageValue[]): T | undefined {
    return this.#rows<T>(query, ...args)[0];
  }

  /** The source number of a collector (created on first use when `create`). */
  source(collectorId: string, create = false): number | undefined {
    let no = this.#sourceNo.get(collectorId);
    if (no !== undefined) return no;
    no = this.#one<{ no: number }>("SELECT no FROM rating_sources WHERE collector_id = ?", collectorId)?.no;
    if (no === undefined && create) no = this.#one<{ no: number }>("INSERT INTO rating_sources (collector_id) VALUES (?) RETURNING no", collectorId)!.no;
    if (no !== undefined) { this.#sourceNo.set(collectorId, no); this.#sourceId.set(no, collectorId); }
    return no;
  }

  collectorOf(no: number): string {
    let id = this.#sourceId.get(no);
    if (id === undefined) {
      id = this.#one<{ collector_id: string }>("SELECT collector_id FROM rating_sources WHERE no = ?", no)!.collector_id;
      this.#sourceId.set(no, id); this.#sourceNo.set(id, no);
    }
    return id;
  }

  /** Forgets cached source numbers and sessions (a rolled-back transaction may have created some). */
  reset(): void {
    this.#sourceNo.clear(); this.#sourceId.clear(); this.#sessions.clear();
  }

  remember(key: string, entry: { id: number; state?: SessionState }): void {
    // Bounded: what one batch or chunk touches, not the contract's sessions.
    if (this.#sessions.size >= SESSION_CACHE) this.#sessions.clear();
    this.#sessions.set(key, entry);
  }

  row(key: string): SessionRow | undefined {
    const cached = this.#sessions.get(key);
    if (cached) return this.#one<SessionRow>("SELECT * FROM rating_sessions WHERE id = ?", cached.id);
    const [collector, name] = splitKey(key);
    const no = this.source(collector);
    const row = no === undefined ? undefined : this.#one<SessionRow>("SELECT * FROM rating_sessions WHERE source_no = ? AND name = ?", no, name);
    if (row) this.remember(key, { id: row.id });
    return row;
  }

  /** The session's id, creating it (rated under the current terms revision, with its user and host) when new. */
  id(key: string, who?: { user?: string; host?: string }): number {
    const cached = this.#sessions.get(key);
    if (cached) return cached.id;
    const [collector, name] = splitKey(key);
    const no = this.source(collector, true)!;
    const found = this.#one<{ id: number }>("SELECT id FROM rating_sessions WHERE source_no = ? AND name = ?", no, name)?.id;
    if (found !== undefined) { this.remember(key, { id: found }); return found; }
    // Unflushed: a new session's row is read by nothing pending (intervals, pieces, other sessions' cursors).
    const created = this.#raw.exec<{ id: number; rev: number }>(
      `INSERT INTO rating_sessions (source_no, name, rev, user_name, host_name) VALUES (?, ?, coalesce((SELECT terms_rev FROM rating_state), 0), ?, ?) RETURNING id, rev`,
      no, name, who?.user ?? null, who?.host ?? null).one();
    this.remember(key, { id: created.id, state: { cursor: null, rev: created.rev } });
    this.#created(created.id);
    return created.id;
  }

  /** The session's id if it exists (never creates it). */
  knownId(key: string): number | undefined {
    return this.#sessions.get(key)?.id ?? this.row(key)?.id;
  }

  /** The session's revision and rating cursor (a copy: the caller may change it). */
  state(key: string): SessionState | undefined {
    const cached = this.#sessions.get(key)?.state;
    if (cached) return { rev: cached.rev, cursor: cached.cursor && { ...cached.cursor } };
    const r = this.row(key);
    if (!r) return undefined;
    const state: SessionState = {
      rev: r.rev,
      cursor: r.first_start === null ? null : {
        session: key, first_start: r.first_start, rounding: { increment_ms: r.increment_ms, minimum_ms: r.minimum_ms, grace_ms: r.grace_ms },
        cum_ms: r.cum_ms, last_end: r.last_end,
      },
    };
    this.remember(key, { id: r.id, state });
    return { rev: state.rev, cursor: state.cursor && { ...state.cursor } };
  }
}
