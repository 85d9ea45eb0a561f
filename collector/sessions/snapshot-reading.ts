// How the session tracker reads a snapshot (`backfill` and `parse` of lmstat, rlmstat, LM-X, lsmon or
// DSLS outputs: who holds what, since when): each listed line goes on with the open session of its
// line, or starts one; a session no longer listed ends at its last sighting. The daemon's diff of its
// polls (snapshot-diff.ts) bills the same outputs alike (test/collector/sources/snapshot-paths.property.test.ts).
// A line is known by its identity (snapshot-identity.ts: holder, handle, stated start, but not its
// count); identical lines (no handle) are numbered in the order listed.
import type { Holder, SnapshotHolder } from "../sources/events.ts";
import type { ListedBefore } from "./listed-before.ts";
import type { OpenSessions } from "./open-sessions.ts";
import { identityLine, repeatedIdentity, snapshotIdentity } from "./snapshot-identity.ts";
import type { OpenSession } from "./tracker-state.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";

/** What of the tracker a snapshot is read into (session-tracker.ts). */
export interface SnapshotHost {
  readonly held: OpenSessions;
  /** Snapshot lines no longer listed, with when they last were: one listed again goes on from there. */
  readonly listedBefore: ListedBefore;
  /** Opens a session (`id`: the one it goes on as). */
  checkout(h: Omit<Holder, "handle">, start: number, handle: string, snapshot: OpenSession["snapshot"], id?: string): OpenSession | undefined;
  /** Ends a session at `end`; `remember`: kept in `listedBefore`, to go on if listed again. */
  close(s: OpenSession, end: number, remember?: boolean): void;
  /** Ends the `i`-th session of `list` at `end`. */
  closeAt(list: OpenSession[], i: number, end: number): OpenSession;
}

/** One snapshot of `daemon` (undefined: of every daemon) taken at `at`; `previous`: the one before (−Infinity: none). */
export function readSnapshot(host: SnapshotHost, holders: SnapshotHolder[], at: number, previous: number, daemon: string | undefined): void {
  const held = host.held;
  // Only a session of an earlier snapshot can be gone from this one: with none (`parse` of one output), nothing is.
  const earlier = held.bySnapshot.size > 0;
  const listed = new Set<OpenSession>();
  const rest: Array<[SnapshotHolder, string]> = []; // lines no open session of their count was found for
  const lines = new Set<string>(); // the lines listed, but for their count and number
  for (const h of holders) {
    const line = snapshotIdentity(h, wholeSecond(h.start));
    lines.add(line);
    let session = held.bySnapshot.get(line);
    // A line identical to one this snapshot listed already is another checkout — but a handle listed
    // twice is one (lmstat lists a server once per license file that names it).
    if (h.handle && session !== undefined && listed.has(session)) continue;
    for (let n = 2; session !== undefined && (listed.has(session) || session.count !== h.count); n++) session = held.bySnapshot.get(repeatedIdentity(line, n));
    if (session === undefined) rest.push([h, line]);
    else {
      session.snapshot!.seenAt = at;
      listed.add(session);
    }
  }
  // Then the others: a session of the line not listed yet is theirs at a new count; else a new one.
  const vanished = rest.some(([h]) => h.group !== undefined) ? vanishedGroups(held, listed, daemon) : undefined;
  for (const [h, line] of rest) {
    let identity = line, session = held.bySnapshot.get(identity);
    if (h.handle && session !== undefined && listed.has(session)) continue;
    for (let n = 2; session !== undefined && listed.has(session); n++) session = held.bySnapshot.get((identity = repeatedIdentity(line, n)));
    if (session) session = recount(host, session, h, at);
    else {
      // Not listed in the previous snapshot, so not held then, whatever its start field says — unless
      // an earlier one listed this very line: then it was held throughout, the same session, from its
      // last sighting (listed-before.ts); or one of its group (RLM handles sharing a license) is gone
      // from this one: it goes on where that was last seen (the later of the two, as the diff does:
      // never over what was billed).
      const before = host.listedBefore.resume(line, h.count), group = h.group === undefined ? undefined : vanished?.get(h.group);
      const same = before !== undefined && !(group !== undefined && group > before.seenAt);
      const from = same ? before.seenAt : group !== undefined ? group : Math.min(at, Math.max(wholeSecond(h.start), previous));
      session = host.checkout(h, from, h.handle ?? "", { identity, seenAt: at, ...(h.group !== undefined ? { group: h.group } : {}) }, same ? before.id : undefined)!;
    }
    listed.add(session);
  }
  if (!earlier) return;
  const gone: OpenSession[] = [];
  for (const s of held.bySnapshot.values()) if ((daemon === undefined || s.daemon === daemon) && !listed.has(s)) gone.push(s);
  // The latest first, as the daemon's diff's check-ins end a holder's (its last-numbered line's
  // session first): the session a line listed again goes on with is the same either way.
  // Listed again later, a line goes on from its last sighting only when the snapshots between left
  // out its holder's line altogether: where this one lists it (another count, or fewer identical
  // lines), the line gone was not held, and is not remembered (as the diff).
  for (const s of gone.reverse()) host.close(s, s.snapshot!.seenAt, !lines.has(identityLine(s.snapshot!.identity, s.product).line));
}

/** Per group, when its sessions not listed (yet) in this snapshot were last seen. */
function vanishedGroups(held: OpenSessions, listed: Set<OpenSession>, daemon: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of held.bySnapshot.values()) {
    const group = s.snapshot!.group;
    if (group !== undefined && !listed.has(s) && (daemon === undefined || s.daemon === daemon)) out.set(group, Math.max(out.get(group) ?? -Infinity, s.snapshot!.seenAt));
  }
  return out;
}

/**
 * A listed line that is open session `s`'s but for its count (lmgrd's UPGRADE adds licenses to the
 * checkout it has): the same checkout, now of `h.count`. The old count ends and the new one starts
 * where each is provable: at this snapshot when it grew (the old count was held up to it), at the
 * last sighting when it shrank — as the daemon's diff bills it (snapshot-diff.ts).
 */
function recount(host: SnapshotHost, s: OpenSession, h: SnapshotHolder, at: number): OpenSession {
  const from = h.count > s.count ? at : s.snapshot!.seenAt;
  host.closeAt(...host.held.place(s), from);
  return host.checkout(h, from, h.handle ?? "", { ...s.snapshot!, seenAt: at })!;
}
