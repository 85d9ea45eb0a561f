// A snapshot source renamed in the config (the same command run, or the same file read, under another
// name) goes on with the state the old name left, instead of starting afresh. A poll shows who holds
// what since when, so a new source checks every listed holder out at its stated start, while the old
// state had billed them up to its last poll: a week-long checkout open at the rename was billed for
// the week again (under ids of the new name), and the old state's sessions never ended.
//
// The state of a source no longer in the config whose `polls` (what it polled) is the new source's is
// moved to the new name: the open holders keep their sessions, those gone since end where they were
// last seen. The move is one rename of the state file, so a crash leaves the state under one name or
// the other — never both polling, never neither; a state keeping a part in an appendix (named after
// its file) is first rewritten whole. States written without `polls` (before 2026-12-05) are never
// matched: a source renamed from one of those starts afresh, as before.
import { rename } from "node:fs/promises";
import { join } from "node:path";
import { SessionTracker } from "../sessions/session-tracker.ts";
import type { TrackerState } from "../sessions/tracker-state.ts";
import type { Site } from "../site.ts";
import { syncDir } from "../state/json-file.ts";
import type { SnapshotReadState } from "./snapshot-reader.ts";
import { listSourceStates, settledState, SourceJournal, sourcesDir, sourceStatePath } from "./source-journal.ts";

export interface PolledBefore { name: string; path: string; state: SnapshotReadState }

/**
 * The state of a source not in the config (`configured`: the names it has) of `kind` that polled
 * `polls`; of several, the one that polled last. Backfill's states (`<name>@….json`) are never one.
 */
export async function polledBefore(stateDir: string, kind: string, polls: string, configured: ReadonlySet<string>): Promise<PolledBefore | undefined> {
  let found: PolledBefore | undefined;
  for (const entry of await listSourceStates(stateDir)) {
    const name = entry.slice(0, -".json".length);
    if (name.includes("@") || configured.has(name)) continue;
    const path = join(sourcesDir(stateDir), entry);
    const state = await settledState<SnapshotReadState>(path);
    if (state?.kind !== kind || state.polls !== polls) continue;
    if (found === undefined || lastPoll(state) > lastPoll(found.state)) found = { name, path, state };
  }
  return found;
}

/** Moves the state `from` (a snapshot source's, or a log's: daemon-source.ts) to source `to`'s name,
 *  crash-safe (see the header). */
export async function takeOver(site: Site, from: { name: string; path: string }, to: string): Promise<void> {
  const { journal } = await SourceJournal.open<{ tracker: TrackerState }>(site, from.path);
  const state = journal.committed();
  if (state === undefined) return;
  const appendix = await journal.committedAppendix();
  // The appendix's files are named after the state's: whole, the state needs none (the old ones go).
  if (appendix !== undefined) await journal.save({ ...state, tracker: SessionTracker.restore(from.name, state.tracker, appendix).save() });
  await rename(from.path, sourceStatePath(site.paths.dir, to));
  await syncDir(sourcesDir(site.paths.dir));
}

/** When a snapshot state last listed its holders (its tracker's latest clock; −Infinity: never). */
export function lastPoll(state: SnapshotReadState): number {
  return Math.max(-Infinity, ...Object.values(state.tracker.lastKnown));
}
