// Consecutive snapshots of one source → the checkout / checkin / alive events the session
// tracker pairs into usage (DESIGN.md §9: each held license is an open session from its start
// to the snapshot time).
//
// Identity: a holder is (daemon, feature, version, handle, user, host, count, start). Formats
// with a license handle (lmstat, rlmstat, DSLS session id) thereby key on the handle; the
// others (LM-X, lsmon) on the holder itself. The stated start is part of the key because
// handles are reused: the same handle with a new start is a new checkout.
//
// Times, and why: a new holder is checked out at its stated start (never after the snapshot
// that shows it), but never before the previous snapshot, which did not list it: it was not held
// then, whatever its start field says (as the session tracker reads saved outputs). A vanished
// holder is checked in at the time of the last snapshot that showed it — the last time it was
// provably held; the time between that snapshot and the one that no longer shows it is never
// billed. Its check-in names when its checkout was given (`opened`): of one holder's sessions (no
// handle: one user's windows), the tracker ends that one. A line whose count changed is the same
// checkout at a new count (see `snapshot`). A `server_down` (the server could not be asked: a query that
// failed or timed out, a vendor daemon down) ends nothing: the next output that answers does — what it
// no longer lists ends at its last sighting, what it lists goes on as the same session. (Before, every
// open session ended there and began again at the next answer: the time was billed, but each session
// was two, and a plan's per-session minimum, increment or checkout draw counted twice.) No event
// reaches the tracker meanwhile, so it bills nothing past the last answer. If a closed holder (same
// handle AND same start) is seen again — one output left it out — the checkout provably lasted
// throughout, so it reopens at its last sighting: contiguous with what was billed, never
// overlapping it, and nothing is billed twice. Likewise a new holder of a `group` (RLM handles that
// share one license) one of whose holders vanished in the same poll continues it: it checks out
// where that one was last seen, not at its stated start, which the group has already billed.
import type { Holder, SnapshotHolder, SourceEvent } from "./events.ts";

type Held = SnapshotHolder;

export interface SnapshotDiffState {
  /** Key, holder, last seen, and when its checkout was given (absent in older states). */
  open: Array<[string, Held, number, number?]>;
  /** Key, last seen, and when the checkout of the session it ended was given (absent in older states). */
  closed: Array<[string, number, number?]>;
  /** Per daemon (`*`: the whole source), when its last snapshot was taken (absent in older states). */
  last_at?: Record<string, number>;
}

const WHOLE = "*";

export function holderKey(h: Held): string {
  return JSON.stringify([h.daemon.toLowerCase(), h.feature, h.version ?? "", h.handle ?? "", h.user, h.host, h.count, h.start]);
}

/** The key but for the count: a line whose count changed is the same checkout (see `snapshot`). */
function countlessKey(h: Held): string {
  return JSON.stringify([h.daemon.toLowerCase(), h.feature, h.version ?? "", h.handle ?? "", h.user, h.host, h.start]);
}

/** The key of a snapshot's `n`th identical line (no handle, the same holder and start): another checkout. */
export function repeatedHolderKey(h: Held, n: number): string {
  return n === 1 ? holderKey(h) : `${holderKey(h)}#${n}`;
}

function inScope(daemon: string | undefined, h: Holder): boolean {
  return daemon === undefined || daemon.toLowerCase() === h.daemon.toLowerCase();
}

function withoutStart(h: Held): Holder {
  const { start: _start, group: _group, ...holder } = h;
  return holder;
}

export class SnapshotDiff {
  /** `from`: when its checkout was given, which its check-in names (the tracker ends that session). */
  private readonly open = new Map<string, { holder: Held; lastSeen: number; from: number | undefined }>();
  /** Holders no longer open, with the last time they were provably held (oldest first). */
  private readonly closed = new Map<string, { lastSeen: number; from: number | undefined }>();
  private readonly remember: number;
  private lastAt: Record<string, number> = {};

  constructor(remember = 50_000) {
    this.remember = remember;
  }

  /** Plain-JSON state for a restart (the daemon keeps it with the tracker's): every open holder,
   *  and the most recently closed ones (a holder re-listed after longer is a new checkout). */
  save(keepClosed = 1000): SnapshotDiffState {
    return {
      open: [...this.open.entries()].map(([key, o]) => (o.from === undefined ? [key, o.holder, o.lastSeen] : [key, o.holder, o.lastSeen, o.from])),
      closed: [...this.closed.entries()].slice(-keepClosed).map(([key, c]) => (c.from === undefined ? [key, c.lastSeen] : [key, c.lastSeen, c.from])),
      last_at: { ...this.lastAt },
    };
  }

  restore(state: SnapshotDiffState): void {
    this.open.clear();
    this.closed.clear();
    // A handle's second line was numbered as a checkout of its own before (the tracker dropped it).
    for (const [key, holder, lastSeen, from] of state.open) if (!(holder.handle && !key.endsWith("]"))) this.open.set(key, { holder, lastSeen, from });
    for (const [key, lastSeen, from] of state.closed) this.closed.set(key, { lastSeen, from });
    this.lastAt = { ...state.last_at };
  }

  /** Holders currently open, as of the last snapshot. */
  held(): Held[] {
    return [...this.open.values()].map((o) => o.holder);
  }

  /** Feeds one parse result's events (in order); returns the tracker's events. */
  apply(events: SourceEvent[]): SourceEvent[] {
    const out: SourceEvent[] = [];
    for (const e of events) {
      if (e.type === "snapshot") out.push(...this.snapshot(e.at, e.daemon, e.holders));
      else if (e.type !== "server_down") out.push(e); // the next answer decides (see above)
    }
    return out;
  }

  private snapshot(at: number, daemon: string | undefined, holders: Held[]): SourceEvent[] {
    const current = new Map<string, Held>();
    for (const h of holders) {
      // Two identical lines (no handle, same holder and start) are two checkouts; a handle listed twice
      // is one (lmstat lists a server once per license file that names it).
      let key = holderKey(h);
      if (h.handle) {
        if (current.has(key)) continue;
      } else for (let n = 2; current.has(key); n++) key = repeatedHolderKey(h, n);
      current.set(key, h);
    }
    const out: SourceEvent[] = [];
    const scope = daemon?.toLowerCase() ?? WHOLE;
    const previous = Math.max(this.lastAt[scope] ?? -Infinity, this.lastAt[WHOLE] ?? -Infinity);
    this.lastAt[scope] = at;
    const vanished = new Map<string, number>(); // group → when its vanished holders were last seen
    // New lines by their key but for the count: one that is an open holder's is that checkout at a new count.
    const recounted = new Map<string, string>(), switched = new Map<string, number>();
    let listedLines: Set<string> | undefined; // the lines this output lists, but for their count and number (when a line is gone)
    // Of identical new lines, the first listed (as the tracker pairs them: snapshot-reading.ts).
    for (const [key, h] of current) if (!this.open.has(key) && !recounted.has(countlessKey(h))) recounted.set(countlessKey(h), key);
    for (const [key, o] of this.open) {
      if (!inScope(daemon, o.holder) || current.has(key)) continue;
      // Its count changed: the old count ends, and the new one starts, where each is provable — at this
      // poll when it grew (the old count was held up to it), at its last sighting when it shrank.
      const line = countlessKey(o.holder);
      const next = recounted.get(line);
      const end = next !== undefined && current.get(next)!.count > o.holder.count ? at : o.lastSeen;
      if (next !== undefined) {
        recounted.delete(line);
        switched.set(next, end);
      }
      out.push({ type: "checkin", at: end, reason: "normal", ...withoutStart(o.holder), ...(o.from !== undefined ? { opened: o.from } : {}) });
      if (o.holder.group !== undefined) vanished.set(o.holder.group, Math.max(vanished.get(o.holder.group) ?? -Infinity, o.lastSeen));
      // Listed again later, a line goes on from its last sighting only when the outputs between left out
      // its holder's line altogether (`Cannot get users`): where this one lists it (another count, or
      // fewer identical lines), the line gone was not held, and is not remembered.
      if (next === undefined && !(listedLines ??= new Set([...current.values()].map(countlessKey))).has(line)) this.close(key, o.lastSeen, o.from);
      else this.open.delete(key); // it goes on at its new count: its old line listed again is not resumed
    }
    // The check-ins in time order (stable): a line gone since a poll before the last (the server could
    // not be asked between) ends at its last sighting; fed after a count change's check-in at this poll,
    // the tracker would have billed it up to the hour cut between.
    out.sort((a, b) => a.at - b.at);
    for (const [key, h] of current) {
      const open = this.open.get(key);
      if (open) { open.lastSeen = at; continue; }
      // Both are last sightings the license was billed to; the later one follows on without overlap.
      const closed = this.closed.get(key), before = closed?.lastSeen;
      const resumed = [before, h.group === undefined ? undefined : vanished.get(h.group), switched.get(key)].filter((t) => t !== undefined);
      const resumeAt = resumed.length > 0 ? Math.max(...resumed) : undefined;
      this.closed.delete(key);
      const from = resumeAt ?? Math.min(Math.max(h.start, previous), at);
      // Its own line listed again: the session it had goes on (the tracker keeps its id; `resumes` names
      // when that session's checkout was given, which tells it from another of the holder's).
      const resumes = before !== undefined && before === resumeAt ? closed!.from : undefined;
      out.push({ type: "checkout", at: from, ...withoutStart(h), ...(resumes !== undefined ? { resumes } : {}) });
      this.open.set(key, { holder: h, lastSeen: at, from });
    }
    out.push(daemon === undefined ? { type: "alive", at } : { type: "alive", at, daemon });
    return out;
  }

  private close(key: string, lastSeen: number, from: number | undefined): void {
    this.open.delete(key);
    this.closed.delete(key);
    this.closed.set(key, { lastSeen, from });
    if (this.closed.size > this.remember) {
      const oldest = this.closed.keys().next().value;
      if (oldest !== undefined) this.closed.delete(oldest);
    }
  }
}
