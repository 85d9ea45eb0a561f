// Snapshot sessions that ended because a snapshot no longer listed them, by the identity of their
// line, with the last time a snapshot listed them. A later snapshot that lists the same line again —
// the same holder, handle, stated start and count: one output left it out (a feature's `Cannot get
// users`) — shows the checkout lasted throughout, so the session that
// follows begins where the last one was last seen, as the daemon's diff of its polls does
// (snapshot-diff.ts): contiguous with what was billed, never overlapping it. Before, it began at the
// snapshot before the one that listed it again, and `backfill` (and `parse`) left unbilled the time
// between. Identical lines (no handle: one user's windows) end and come back as many.
import type { Holder } from "../sources/events.ts";

/** As saved: `[line identity, last listed (ms), holder]`, oldest first; a line may be there more than once. */
export type ListedBeforeState = Array<[string, number, Holder]>;

interface Ended { seenAt: number; holder: Holder }

export class ListedBefore {
  /** Per line identity (snapshot-identity.ts, unnumbered), its ended sessions, oldest first. */
  readonly #ended = new Map<string, Ended[]>();
  #size = 0;
  readonly #remember: number;

  /** `remember`: how many ended sessions are kept (the oldest go first), as the diff's closed holders. */
  constructor(remember = 50_000) {
    this.#remember = remember;
  }

  /** A snapshot session of `line` ended: its line was last listed at `seenAt`. */
  ended(line: string, seenAt: number, s: Holder): void {
    const holder: Holder = { daemon: s.daemon, feature: s.feature, user: s.user, host: s.host, count: s.count };
    if (s.version !== undefined) holder.version = s.version;
    if (s.handle !== undefined) holder.handle = s.handle;
    if (s.product !== undefined) holder.product = s.product;
    const list = this.#ended.get(line) ?? [];
    this.#ended.delete(line); // the most recently ended line last
    this.#ended.set(line, list);
    list.push({ seenAt, holder });
    if (++this.#size > this.#remember) {
      const [oldest, first] = this.#ended.entries().next().value!;
      first.shift();
      this.#size--;
      if (first.length === 0) this.#ended.delete(oldest);
    }
  }

  /**
   * When a session of the line, listed again, was last listed (forgotten then: it is open again), if
   * one ended at this count (at another, it is not known to be the same checkout: the diff's key has
   * the count). Of identical ones, the one that ended last: as fewer were listed, one went on longer
   * (the diff's first-numbered key is that one).
   */
  resume(line: string, count: number): number | undefined {
    const list = this.#ended.get(line);
    const i = list === undefined ? -1 : list.findLastIndex((e) => e.holder.count === count);
    if (i < 0) return undefined;
    const [ended] = list!.splice(i, 1);
    this.#size--;
    if (list!.length === 0) this.#ended.delete(line);
    return ended!.seenAt;
  }

  /** The most recently ended `keep` sessions (as the diff saves its closed holders). */
  save(keep = 1000): ListedBeforeState {
    const out: ListedBeforeState = [];
    for (const [line, list] of this.#ended) for (const { seenAt, holder } of list) out.push([line, seenAt, holder]);
    return out.slice(-keep);
  }

  restore(state: ListedBeforeState | undefined): void {
    this.#ended.clear();
    this.#size = 0;
    for (const [line, seenAt, holder] of state ?? []) {
      const list = this.#ended.get(line);
      if (list === undefined) this.#ended.set(line, [{ seenAt, holder }]);
      else list.push({ seenAt, holder });
      this.#size++;
    }
  }
}
