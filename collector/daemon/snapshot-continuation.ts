// A snapshot source's saved outputs (`backfill --name N`) and its live polls (`run`'s source N) go on
// with one session tracker. A poll lists who holds what since when, so a tracker without the other's
// state checks every listed holder out at its stated start, which the other had billed: a site that
// backfilled months of cron-saved `lmstat -a` outputs, then started `run`, had every holder still open
// billed again from its start (under the same session ids when the names were equal, which the edge
// rates as two intervals); an output backfilled after `run` had polled did the same the other way.
//
// So the daemon's source N with no state of its own takes backfill's `N@snapshots.json` (one rename,
// crash-safe: the state is under one name or the other, never both and never neither), and a later
// `backfill --name N` imports into the daemon's state (file-import.ts). The two keep a snapshot's
// holders differently — backfill feeds whole snapshots to the tracker, whose sessions know the holder
// they came from; the daemon diffs polls (snapshot-diff.ts) into checkouts and check-ins — so a
// backfill's state is read as the daemon's by `asPolled`, whenever it is met: its open holders go on
// as the diff's, their sessions (and ids) the same, billed on from where the backfill left them.
import { join } from "node:path";
import { holderKey, repeatedHolderKey, type SnapshotDiffState } from "../sources/snapshot-diff.ts";
import { identityLine } from "../sessions/snapshot-identity.ts";
import type { Holder, SnapshotHolder, SnapshotSource } from "../sources/events.ts";
import { SnapshotPoller } from "../sources/poller.ts";
import { sourceKinds } from "../sources/registry.ts";
import { shareGroup } from "../sources/rlm-rlmstat.ts";
import type { SourceConfig } from "./run-config.ts";
import type { OpenSession } from "../sessions/tracker-state.ts";
import type { SnapshotReadState } from "./snapshot-reader.ts";
import { listSourceStates, settledState, sourcesDir } from "./source-journal.ts";
import { lastPoll, type PolledBefore } from "./snapshot-takeover.ts";

/** Where `backfill --name N` keeps the tracker of source N's saved outputs. */
export function backfillStatePath(stateDir: string, name: string): string {
  return join(sourcesDir(stateDir), `${name}@snapshots.json`);
}

/** Backfill's state of source `name`'s outputs, when it read `kind`. */
export async function backfilledBefore(stateDir: string, name: string, kind: string): Promise<PolledBefore | undefined> {
  const path = backfillStatePath(stateDir, name);
  const state = await settledState<SnapshotReadState>(path);
  if (state?.kind !== kind || state.tracker === undefined) return undefined;
  return { name: `${name}@snapshots`, path, state };
}

/**
 * A snapshot state as the daemon's poller and tracker go on with it: a backfill's (no poller; open
 * sessions that know their snapshot holder) becomes the diff's open holders, last seen where the
 * backfill last listed them, and sessions the daemon's clock ends; the lines it no longer listed, and
 * when it last listed anyone, go on too (a holder it did not list is not billed before that), even when
 * its last output listed no one. A daemon's state (it has a poller) is returned as it is.
 */
export function asPolled(state: SnapshotReadState): SnapshotReadState {
  const { listed_before: listedBefore, ...tracker } = state.tracker;
  if (state.poller !== undefined) return state;
  const lastAt = Object.entries(state.tracker.lastSnapshotAt).map(([scope, at]) => [scope.toLowerCase(), at]);
  const diff: SnapshotDiffState = { open: [], closed: [], last_at: Object.fromEntries(lastAt) };
  // The diff numbers identical lines (one key: names, handle, start and count) in the order listed:
  // the open ones as the tracker numbered them, then those it no longer listed, the one that ended
  // last first (listed-before.ts `resume`) — listed again, they go on where last seen.
  const numbered = new Map<string, number>();
  const keyOf = (holder: SnapshotHolder) => {
    const key = holderKey(holder), n = (numbered.get(key) ?? 0) + 1;
    numbered.set(key, n);
    return repeatedHolderKey(holder, n);
  };
  const open: OpenSession[] = [];
  const listed: Array<{ holder: SnapshotHolder; n: number; seenAt: number; start: number }> = [];
  for (const s of state.tracker.open) {
    const { snapshot, ...session } = s;
    open.push(session);
    if (snapshot === undefined) continue;
    const { line, n } = identityLine(snapshot.identity, session.product);
    const holder = listedHolder(session, line);
    // Its group, as the poll listed it (kept with the session; recomputed for a state saved before it
    // was): a handle of its group that follows it goes on where it was last seen.
    const group = snapshot.group ?? (state.kind === "rlm-rlmstat" ? shareGroup(holder, holder.start) : undefined);
    if (group !== undefined) holder.group = group;
    listed.push({ holder, n, seenAt: snapshot.seenAt, start: session.start });
  }
  for (const l of listed.sort((a, b) => a.n - b.n)) diff.open.push([keyOf(l.holder), l.holder, l.seenAt, l.start]);
  diff.closed = (listedBefore ?? []).toReversed().map(([line, seenAt, holder, start]): [string, number, number] => [keyOf(listedHolder(holder, line)), seenAt, start]).reverse(); // oldest first, as the diff keeps them
  // Their sessions go on as the diff's check-ins' would: a line listed again keeps its session's id.
  const ended = [...(tracker.ended_sessions ?? []), ...(listedBefore ?? []).map(([, seenAt, holder, start, key, id]): [string, number, number, number, string] => [key, holder.count, start, seenAt, id])];
  return { ...state, poller: { diff }, tracker: { ...tracker, open, ...(ended.length > 0 ? { ended_sessions: ended } : {}) } };
}

/** The holder a snapshot listed: the session's names, and the start it stated (snapshot-identity.ts
 *  keeps it before the product, which ends the identity when there is one). */
function listedHolder(s: Holder, identity: string): SnapshotHolder {
  const rest = s.product === undefined ? identity : identity.slice(0, -(s.product.length + 1));
  const start = Number(rest.slice(rest.lastIndexOf("|") + 1));
  return {
    daemon: s.daemon, feature: s.feature, ...(s.version !== undefined ? { version: s.version } : {}), user: s.user, host: s.host,
    ...(s.handle !== undefined ? { handle: s.handle } : {}), ...(s.product !== undefined ? { product: s.product } : {}), count: s.count, start,
  };
}

/** When a snapshot state last listed its holders (ISO), or "never". */
export function lastListed(state: SnapshotReadState): string {
  const at = lastPoll(state);
  return Number.isFinite(at) ? new Date(at).toISOString() : "never";
}

/**
 * A source of another name whose state (the daemon's `M.json`, or backfill's `M@snapshots.json`) of
 * `kind` has open a holder `holders` lists — the same names, license handle and stated start: these
 * are that server's outputs, which read as `name` would bill every such holder again from its start.
 */
export async function listedElsewhere(stateDir: string, kind: string, name: string, holders: SnapshotHolder[]): Promise<{ source: string; by: "run" | "backfill"; holder: SnapshotHolder } | undefined> {
  if (holders.length === 0) return undefined;
  const listed = new Map(holders.map((h) => [holderKey(h), h]));
  for (const entry of await listSourceStates(stateDir)) {
    const backfill = entry.endsWith("@snapshots.json");
    if (!backfill && entry.includes("@")) continue; // a log file's import
    const source = entry.slice(0, -(backfill ? "@snapshots.json" : ".json").length);
    if (source === name) continue;
    const state = await settledState<SnapshotReadState>(join(sourcesDir(stateDir), entry));
    const holder = state?.kind === kind && state.tracker !== undefined ? openOf(state, listed) : undefined;
    if (holder) return { source, by: backfill ? "backfill" : "run", holder };
  }
  return undefined;
}

/**
 * Backfill's state of `kind` under a name no source in the config has (`configured`) that has open a
 * holder `holders` lists (`holders`: thunk of the source's first poll, taken only when such a state
 * exists): its saved outputs were this server's, imported under another name than the source's.
 */
export async function backfilledElsewhere(stateDir: string, kind: string, configured: ReadonlySet<string>, holders: () => Promise<SnapshotHolder[]>): Promise<PolledBefore | undefined> {
  let listed: Map<string, SnapshotHolder> | undefined;
  for (const entry of await listSourceStates(stateDir)) {
    if (!entry.endsWith("@snapshots.json")) continue;
    const name = entry.slice(0, -"@snapshots.json".length);
    if (configured.has(name)) continue; // that source's own, when it starts
    const path = join(sourcesDir(stateDir), entry);
    const state = await settledState<SnapshotReadState>(path);
    if (state?.kind !== kind || state.tracker === undefined) continue;
    listed ??= new Map((await holders()).map((h) => [holderKey(h), h]));
    if (openOf(state, listed)) return { name: `${name}@snapshots`, path, state };
  }
  return undefined;
}

/** The holders source `c` lists now: one poll of its own, its events fed nowhere. */
export async function listedNow(c: SourceConfig, timezone: string, clock: () => number): Promise<SnapshotHolder[]> {
  const source = sourceKinds[c.kind]!.create({ name: c.name, timezone, ...(c.package_features ? { package_features: c.package_features } : {}) }) as SnapshotSource;
  let holders: SnapshotHolder[] = [];
  const poller = new SnapshotPoller({ source, interval_s: c.interval_s, encoding: c.encoding, ...(c.file ? { file: c.file } : { command: { path: c.command![0]!, args: c.command!.slice(1) } }) }, (_events, result) => {
    holders = result?.events.flatMap((e) => (e.type === "snapshot" ? e.holders : [])) ?? [];
  }, clock);
  await poller.pollOnce();
  return holders;
}

/** A holder of `listed` that `state` has open, if any. */
function openOf(state: SnapshotReadState, listed: Map<string, SnapshotHolder>): SnapshotHolder | undefined {
  for (const [key] of asPolled(state).poller?.diff.open ?? []) {
    const holder = listed.get(key);
    if (holder) return holder;
  }
  return undefined;
}
