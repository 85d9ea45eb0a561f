// Snapshot sessions that ended because a snapshot no longer listed them, by the identity of their
// line, with the last time a snapshot listed them. A later snapshot that lists the same line again —
// the same holder, handle, stated start and count: one output left it out (a feature's `Cannot get
// users`) — shows the checkout lasted throughout, so the session that
// follows begins where the last one was last seen, as the daemon's diff of its polls does
// (snapshot-diff.ts): contiguous with what was billed, never overlapping it. Before, it began at the
// snapshot before the one that listed it again, and `backfill` (and `parse`) left unbilled the time
// between. Identical lines (no handle: one user's windows) end and come back as many.
import type { Holder } from "../sources/events.ts";

/** As saved: `[line identity, last listed (ms), holder, its session's start, pairing key and id]`,
 *  oldest first; a line may be there more than once. */
export type ListedBeforeState = Array<[string, number, Holder, number, string, string]>;

/** An ended session of a line: when the line was last listed (its end), the holder, and the session's
 *  start, pairing key and id — listed again, the line goes on as that session. */
interface Ended { seenAt: number; holder: Holder; start: number; key: string; id: string }

/** Lists of values by key, at most `remember` values in all: the oldest key's oldest go first. */
class BoundedLists<V> {
  readonly #lists = new Map<string, V[]>();
  #size = 0;
  readonly #remember: number;

  constructor(remember: number) {
    this.#remember = remember;
  }

  /** Adds `value` last under `key`, which becomes the most recent key. */
  add(key: string, value: V): void {
    const list = this.#lists.get(key) ?? [];
    this.#lists.delete(key);
    this.#lists.set(key, list);
    list.push(value);
    if (++this.#size > this.#remember) {
      const [oldest, first] = this.#lists.entries().next().value!;
      first.shift();
      this.#size--;
      if (first.length === 0) this.#lists.delete(oldest);
    }
  }

  /** Removes and returns the value of `key` that `pick` chooses (its index, or -1: none). */
  take(key: string, pick: (list: V[]) => number): V | undefined {
    const list = this.#lists.get(key);
    const i = list === undefined ? -1 : pick(list);
    if (i < 0) return undefined;
    const [value] = list!.splice(i, 1);
    this.#size--;
    if (list!.length === 0) this.#lists.delete(key);
    return value;
  }

  /** Every key and value, oldest first. */
  *entries(): Generator<[string, V]> {
    for (const [key, list] of this.#lists) for (const value of list) yield [key, value];
  }

  clear(): void {
    this.#lists.clear();
    this.#size = 0;
  }
}

export class ListedBefore {
  /** Per line identity (snapshot-identity.ts, unnumbered), its ended sessions, oldest first. */
  readonly #ended: BoundedLists<Ended>;

  /** `remember`: how many ended sessions are kept (the oldest go first), as the diff's closed holders. */
  constructor(remember = 50_000) {
    this.#ended = new BoundedLists(remember);
  }

  /** A snapshot session `s` of `line` ended: its line was last listed at `seenAt`. */
  ended(line: string, seenAt: number, s: Holder & { start: number; key: string; id: string }): void {
    const holder: Holder = { daemon: s.daemon, feature: s.feature, user: s.user, host: s.host, count: s.count };
    if (s.version !== undefined) holder.version = s.version;
    if (s.handle !== undefined) holder.handle = s.handle;
    if (s.product !== undefined) holder.product = s.product;
    this.#ended.add(line, { seenAt, holder, start: s.start, key: s.key, id: s.id });
  }

  /**
   * The session of the line, listed again, that ended (forgotten then: it is open again), if one
   * ended at this count (at another, it is not known to be the same checkout: the diff's key has
   * the count). Of identical ones, the one that ended last: as fewer were listed, one went on longer
   * (the diff's first-numbered key is that one).
   */
  resume(line: string, count: number): Ended | undefined {
    return this.#ended.take(line, (list) => list.findLastIndex((e) => e.holder.count === count));
  }

  /** The most recently ended `keep` sessions (as the diff saves its closed holders). */
  save(keep = 1000): ListedBeforeState {
    const out: ListedBeforeState = [];
    for (const [line, { seenAt, holder, start, key, id }] of this.#ended.entries()) out.push([line, seenAt, holder, start, key, id]);
    return out.slice(-keep);
  }

  restore(state: ListedBeforeState | undefined): void {
    this.#ended.clear();
    for (const [line, seenAt, holder, start, key, id] of state ?? []) this.#ended.add(line, { seenAt, holder, start, key, id });
  }
}

/** As saved: `[pairing key, count, start (ms), end (ms), session id]`, oldest first. */
export type EndedSessionsState = Array<[string, number, number, number, string]>;

/**
 * Sessions of snapshot lines that a check-in from the daemon's diff ended (the tracker's own snapshots
 * keep theirs in ListedBefore), by pairing key, count, start and end: a line listed again that goes on from
 * exactly that end is the same session — its id — not a new one (the start tells it from another
 * session of the holder that ended then: one user's windows without a handle). One session however many outputs left it
 * out: a plan's per-session minimum or increment, and a checkout draw, count it once (the edge rates
 * by session id; the intervals are contiguous).
 */
export class EndedSessions {
  readonly #ids: BoundedLists<string>;

  constructor(remember = 50_000) {
    this.#ids = new BoundedLists(remember);
  }

  ended(key: string, count: number, start: number, end: number, id: string): void {
    this.#ids.add(`${key}\u0000${count}\u0000${start}\u0000${end}`, id);
  }

  /** The id of the session of `key` and `count` from `start` that ended at `end`, if one did (then forgotten: it goes on). */
  take(key: string, count: number, start: number, end: number): string | undefined {
    return this.#ids.take(`${key}\u0000${count}\u0000${start}\u0000${end}`, (ids) => ids.length - 1);
  }

  save(keep = 1000): EndedSessionsState {
    const out: EndedSessionsState = [];
    for (const [at, id] of this.#ids.entries()) {
      const [key, count, start, end] = at.split("\u0000");
      out.push([key!, Number(count), Number(start), Number(end), id]);
    }
    return out.slice(-keep);
  }

  restore(state: EndedSessionsState | undefined): void {
    this.#ids.clear();
    for (const [key, count, start, end, id] of state ?? []) this.ended(key, count, start, end, id);
  }
}
