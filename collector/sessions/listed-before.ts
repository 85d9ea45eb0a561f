// Snapshot sessions that ended because a snapshot no longer listed them (or their server went down),
// by the identity of their line, with the last time a snapshot listed them. A later snapshot that
// lists the same line again — the same holder, handle and stated start: one output left it out, or
// the server could not be asked — shows the checkout lasted throughout, so the session that follows
// begins where the last one was last seen, as the daemon's diff of its polls does (snapshot-diff.ts):
// contiguous with what was billed, never overlapping it. Before, it began at the snapshot before the
// one that listed it again, and `backfill` (and `parse`) left unbilled the time between.
import type { Holder } from "../sources/events.ts";

/** As saved: `[identity, last listed (ms), holder]`, oldest first. */
export type ListedBeforeState = Array<[string, number, Holder]>;

export class ListedBefore {
  readonly #ended = new Map<string, { seenAt: number; holder: Holder }>();
  readonly #remember: number;

  /** `remember`: how many ended lines are kept (the oldest go first), as the diff's closed holders. */
  constructor(remember = 50_000) {
    this.#remember = remember;
  }

  /** A snapshot session `s` ended: its line was last listed at `seenAt`. */
  ended(identity: string, seenAt: number, s: Holder): void {
    const holder: Holder = { daemon: s.daemon, feature: s.feature, user: s.user, host: s.host, count: s.count };
    if (s.version !== undefined) holder.version = s.version;
    if (s.handle !== undefined) holder.handle = s.handle;
    if (s.product !== undefined) holder.product = s.product;
    this.#ended.delete(identity);
    this.#ended.set(identity, { seenAt, holder });
    if (this.#ended.size > this.#remember) this.#ended.delete(this.#ended.keys().next().value!);
  }

  /** When the line, listed again, was last listed before (forgotten then: it is open again), if it ended. */
  resume(identity: string): number | undefined {
    const ended = this.#ended.get(identity);
    if (ended === undefined) return undefined;
    this.#ended.delete(identity);
    return ended.seenAt;
  }

  /** The most recently ended `keep` lines (as the diff saves its closed holders). */
  save(keep = 1000): ListedBeforeState {
    const out: ListedBeforeState = [];
    for (const [identity, { seenAt, holder }] of this.#ended) out.push([identity, seenAt, holder]);
    return out.slice(-keep);
  }

  restore(state: ListedBeforeState | undefined): void {
    this.#ended.clear();
    for (const [identity, seenAt, holder] of state ?? []) this.#ended.set(identity, { seenAt, holder });
  }
}
