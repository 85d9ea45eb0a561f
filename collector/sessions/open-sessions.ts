// The session tracker's open sessions, three ways: a FIFO list per holder key (a check-in ends the
// earliest), every open session in the order it opened (the order intervals are emitted in, kept
// across save/restore), and the sessions snapshots listed, by identity. A key's list is kept when it
// empties, since the holder is usually back soon, until empty lists are most of the table.
import type { HolderSlot } from "./holder-keys.ts";
import type { OpenSession } from "./tracker-state.ts";

export class OpenSessions {
  readonly #byKey = new Map<string, OpenSession[]>();
  #emptyLists = 0;
  /** Changes whenever a list is let go of: the lists holder slots remember from before are stale. */
  #epoch = 0;
  /** Every open session in the order it opened. */
  readonly live = new Set<OpenSession>();
  readonly bySnapshot = new Map<string, OpenSession>();

  /** The open sessions of a holder, earliest first (undefined or empty when none), remembered in its slot. */
  ofHolder(holder: HolderSlot): OpenSession[] | undefined {
    if (holder.openEpoch === this.#epoch && holder.open !== undefined) return holder.open as OpenSession[];
    const list = this.#byKey.get(holder.key);
    holder.open = list;
    holder.openEpoch = this.#epoch;
    return list;
  }

  /** Adds a session at the end of its key's list (`list`, when the caller already has it). */
  add(session: OpenSession, list = this.#byKey.get(session.key)): void {
    if (list === undefined) this.#byKey.set(session.key, [session]);
    else {
      if (list.length === 0) this.#emptyLists--;
      list.push(session);
    }
    this.live.add(session);
    if (session.snapshot) this.bySnapshot.set(session.snapshot.identity, session);
  }

  /** Removes and returns the `i`-th session of `list` (a key's list from `of`). */
  removeAt(list: OpenSession[], i: number): OpenSession {
    const s = list[i]!;
    if (i === 0) list.shift();
    else list.splice(i, 1);
    if (list.length === 0 && ++this.#emptyLists > 10_000 && this.#emptyLists > this.#byKey.size / 2) this.#dropEmptyLists();
    this.live.delete(s);
    if (s.snapshot) this.bySnapshot.delete(s.snapshot.identity);
    return s;
  }

  /** The list holding `s` and its place in it. */
  place(s: OpenSession): [OpenSession[], number] {
    const list = this.#byKey.get(s.key)!;
    return [list, list.indexOf(s)];
  }

  #dropEmptyLists(): void {
    for (const [key, list] of this.#byKey) if (list.length === 0) this.#byKey.delete(key);
    this.#emptyLists = 0;
    this.#epoch++;
  }
}
