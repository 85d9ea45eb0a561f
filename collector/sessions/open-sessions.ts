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
  readonly live = new LiveSessions();
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

/** Where a session stands in LiveSessions' array (a symbol: JSON and the state leave it out). */
const AT = Symbol("live index");
type Placed = OpenSession & { [AT]?: number };

/**
 * Open sessions in the order they opened, as a Set keeps them, without a Set's table. A Set added
 * to and deleted from at every checkout and check-in rebuilt its table every few hundred sessions,
 * and with it most of what the young heap promoted went: 244 MB per 150 MB of debug log (the
 * sessions themselves included), 78 MB without it; the tracker's thread spent ~12 % less CPU (six
 * alternated runs of backfill's steps). Here a session knows its place (a symbol-keyed property,
 * which JSON and structured clones leave out); a delete leaves a hole, filled in when holes are
 * most of the array. Not to be added to while iterated (the tracker's loops over it only emit).
 */
export class LiveSessions {
  #list: Array<Placed | undefined> = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(s: OpenSession): void {
    const list = this.#list;
    if (list.length >= 64 && this.#size < list.length / 2) this.#compact();
    (s as Placed)[AT] = this.#list.length;
    this.#list.push(s);
    this.#size++;
  }

  delete(s: OpenSession): void {
    const at = (s as Placed)[AT];
    if (at === undefined || this.#list[at] !== s) return;
    this.#list[at] = undefined;
    (s as Placed)[AT] = undefined;
    this.#size--;
  }

  *[Symbol.iterator](): Generator<OpenSession> {
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const s = list[i];
      if (s !== undefined) yield s;
    }
  }

  #compact(): void {
    const kept: Placed[] = [];
    for (const s of this.#list) {
      if (s === undefined) continue;
      s[AT] = kept.length;
      kept.push(s);
    }
    this.#list = kept;
  }
}
