// `backfill`: one file read into the chain, once. The same bounded steps and journal as the
// daemon's sources (a state file per imported file under sources/, `<name>@<fingerprint>.json`),
// so an import that stopped halfway goes on where it stopped, and re-running it on the same file —
// or on that file grown since — reads only what is new, including the rest of sessions still open
// at the earlier end. Files are told apart by their first bytes (file-fingerprint.ts), not their
// names: a log rotated to another name is still the file that was read.
//
// Line files end like `parse` ends: pending lines flushed, open sessions reported up to their
// last known-open time (non-final), so the records are exactly what `parse` prints. A file the
// daemon follows as the same source is the daemon's to read: backfill reports how far it got.
// Snapshot outputs (lmstat …) of one source continue one session tracker across imports, so the
// same session listed in two outputs is reported once; an output already imported adds nothing.
// A source the daemon polls under the same name goes on with one tracker (snapshot-continuation.ts).
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { SitePolicy } from "../chain/site-policy.ts";
import { CollectorError } from "../errors.ts";
import { SessionTracker, type TrackerState } from "../sessions/session-tracker.ts";
import type { RecordBody } from "../sessions/records.ts";
import type { SnapshotSource, SourceEvent } from "../sources/events.ts";
import { mtimeWarning, onSecondThread, snapshotTime } from "../sources/parse-file.ts";
import { sourceKinds } from "../sources/registry.ts";
import { SnapshotDiff } from "../sources/snapshot-diff.ts";
import { decodeOutput } from "../sources/snapshot-output.ts";
import type { Site } from "../site.ts";
import { fingerprintFile } from "./file-fingerprint.ts";
import { continuedIn, LineReader, type LineReadState } from "./line-reader.ts";
import { SAME_LOG_BYTES, statesThatRead } from "./log-first-read.ts";
import { settingsChange, type ReadSettings } from "./read-settings.ts";
import { asPolled, backfillStatePath, listedElsewhere } from "./snapshot-continuation.ts";
import type { SnapshotReadState } from "./snapshot-reader.ts";
import { lastPoll } from "./snapshot-takeover.ts";
import { settledState, SourceJournal, sourcesDir, sourceStatePath } from "./source-journal.ts";
import { emptyTotals, type SourceTotals } from "./source-totals.ts";

export interface ImportReport {
  /** The source name records carry. */
  name: string;
  bytes: number;
  resumed_from_byte: number;
  lines: number;
  /** Record bodies the file produced (before the site's scope). */
  parsed: number;
  appended: number;
  out_of_scope: number;
  /** The file is the one the daemon's source of this name follows: it reads it, not backfill. */
  followed_by?: { source: string; read_to_byte: number };
  /** Snapshot output imported before. */
  already_imported?: boolean;
  /** Snapshot output: where its time came from (`--at`, else the output's own header, else the file's mtime). */
  time_from?: "header" | "at" | "mtime";
  /** Snapshot output read at its file's mtime over a day after its latest checkout (parse-file.ts `mtimeWarning`). */
  time_warning?: string;
}

export interface ImportOptions {
  name: string;
  settings: ReadSettings;
  policy: SitePolicy;
  onProgress?: (bytesRead: number, parsed: number, appended: number) => void;
  /** Line files: read on a second thread or not (default: as `parse` decides, parse-file.ts `onSecondThread`). */
  thread?: boolean;
  /** Snapshot output: its time (ms), over the one it states (`backfill --at`, as `parse --at`). */
  at?: number;
}

interface SnapshotImportState {
  kind: string;
  tracker: TrackerState;
  totals: SourceTotals;
  /** SHA-256 of the outputs imported, newest last (at most 1,000 kept). */
  imported: string[];
  last_at: number | null;
  /** What the outputs were read with (states written before it was kept have none). */
  settings?: ReadSettings;
}

const KEEP_IMPORTED = 1000;
/** Records appended at most at once (the rest stays queued in the saved tracker). */
const APPEND_RECORDS = 50_000;

export async function importFile(site: Site, kind: string, file: string, options: ImportOptions): Promise<ImportReport> {
  return sourceKinds[kind]!.shape === "lines" ? importLines(site, kind, file, options) : importSnapshot(site, kind, file, options);
}

async function importLines(site: Site, kind: string, file: string, o: ImportOptions): Promise<ImportReport> {
  const size = (await stat(file)).size;
  const report: ImportReport = { name: o.name, bytes: size, resumed_from_byte: 0, lines: 0, parsed: 0, appended: 0, out_of_scope: 0 };
  const earlier = await earlierReader(site, o.name, kind, file);
  if ("followed" in earlier) return { ...report, followed_by: earlier.followed };
  const { journal, saved } = earlier;
  if (saved && size > (saved.tail?.offset ?? 0)) sameSettings(kind, `the import of ${file}`, saved.settings, o.settings);
  const appendix = await journal.committedAppendix();
  // A large file (what is left of it) is read and parsed on a second thread while a core is spare:
  // the same steps, records and saved states (line-reader.ts).
  const thread = o.thread ?? onSecondThread(size - (saved?.tail?.offset ?? 0));
  const reader = LineReader.open(o.name, kind, file, o.settings, saved, { ...(appendix !== undefined ? { appendix } : {}), thread });
  report.resumed_from_byte = saved?.tail?.offset ?? 0;
  // Records go to the journal as each slice of a step completes them (`stage`, as the daemon's
  // sources do): no record object lives for a whole step, long enough to be promoted out of the young heap.
  let staged = { parsed: 0, kept: 0, outOfScope: 0 };
  const stage = (bodies: RecordBody[]) => {
    const { kept, outOfScope } = o.policy.apply(bodies);
    journal.stage(kept);
    staged = { parsed: staged.parsed + bodies.length, kept: staged.kept + kept.length, outOfScope: staged.outOfScope + outOfScope };
  };
  const append = async (bodies: RecordBody[]) => {
    const applied = o.policy.apply(bodies);
    const parsed = bodies.length + staged.parsed, kept = applied.kept.length + staged.kept, outOfScope = applied.outOfScope + staged.outOfScope;
    staged = { parsed: 0, kept: 0, outOfScope: 0 };
    const totals = reader.totals();
    totals.records += kept;
    totals.out_of_scope += outOfScope;
    await o.policy.persist();
    // Written behind (source-journal.ts): the next step parses while this one is made durable.
    const { state, apart } = reader.stateApart();
    await journal.begin(state, applied.kept, apart);
    report.parsed += parsed;
    report.appended += kept;
    report.out_of_scope += outOfScope;
  };
  try {
    for (;;) {
      const step = await reader.read(undefined, undefined, stage);
      report.lines += step.lines;
      if (step.lines > 0 || step.bodies.length > 0 || staged.parsed > 0) await append(step.bodies);
      o.onProgress?.(reader.progress().offset, report.parsed, report.appended);
      if (step.caughtUp) break;
    }
    const rest = await reader.readRest();
    report.lines += rest.lines;
    if (!reader.finished() || rest.lines > 0) {
      reader.finish();
      // At least one append, so the state says finished even when the end completed nothing.
      do await append(reader.take());
      while (reader.queued);
    }
    await journal.durable();
    o.onProgress?.(reader.progress().offset, report.parsed, report.appended);
  } finally {
    await journal.durable().catch(() => undefined); // settled before the caller closes the log
    await reader.close();
  }
  return report;
}

/**
 * An import goes on reading its file as it began: the rest of a log read in another zone, encoding
 * or with other package features would shift or mis-pair what follows (and sessions open across
 * the two), silently. Refused, naming the settings to give.
 */
function sameSettings(kind: string, what: string, began: ReadSettings | undefined, now: ReadSettings): void {
  if (settingsChange(kind, began, now) === null) return;
  const options = (s: ReadSettings) => [`--timezone ${s.timezone}`, `--encoding ${s.encoding}`, ...(s.package_features?.length ? [`--package-features ${s.package_features.join(",")}`] : [])];
  throw new CollectorError("usage", `${what} began with ${options(began!).join(" ")}; go on with the same settings (given: ${options(now).join(" ")})`);
}

/**
 * Who read this file before, from one pass over the state dir: the daemon source that follows it (of
 * this name, or of another that took over an import of it: daemon-source.ts — imported again, the log
 * would be reported twice), or else the journal of an earlier import of it under this name (grown or
 * not), or a new one. A state dir keeps one journal per file ever imported: only the states are read
 * (the file's first bytes once), and only the journal that matches is opened.
 */
async function earlierReader(site: Site, name: string, kind: string, file: string): Promise<{ followed: NonNullable<ImportReport["followed_by"]> } | { journal: SourceJournal<LineReadState>; saved: LineReadState | undefined }> {
  const prefix = `${name}@`;
  let imported: { path: string; state: LineReadState } | undefined, followed: { entry: string; state: LineReadState } | undefined;
  for await (const read of statesThatRead<LineReadState>(site.paths.dir, kind, file, (entry) => entry.startsWith(prefix) || !entry.includes("@"), 1)) {
    if (read.entry.includes("@")) imported ??= read;
    // Another source's state must have read enough of the log to be known by it (SAME_LOG_BYTES).
    else if (read.entry === `${name}.json`) followed = read;
    else if (read.state.fingerprint!.bytes >= SAME_LOG_BYTES) followed ??= read;
  }
  if (followed) return { followed: { source: followed.entry.slice(0, -".json".length), read_to_byte: followed.state.tail?.offset ?? 0 } };
  if (imported) {
    const { journal } = await SourceJournal.open<LineReadState>(site, imported.path);
    return { journal, saved: await continuedIn(journal.committed()!, file) };
  }
  const id = (await fingerprintFile(file)).sha256.slice(0, 16);
  const { journal } = await SourceJournal.open<LineReadState>(site, join(sourcesDir(site.paths.dir), `${prefix}${id}.json`));
  return { journal, saved: undefined };
}

async function importSnapshot(site: Site, kind: string, file: string, o: ImportOptions): Promise<ImportReport> {
  const bytes = await readFile(file);
  const report: ImportReport = { name: o.name, bytes: bytes.length, resumed_from_byte: 0, lines: 0, parsed: 0, appended: 0, out_of_scope: 0 };
  // The daemon's source of this name polls these outputs' server: its tracker goes on (snapshot-continuation.ts).
  const polled = await settledState<SnapshotReadState>(sourceStatePath(site.paths.dir, o.name));
  if (polled?.kind === kind && polled.tracker !== undefined) return importPolled(site, kind, file, bytes, o, report);
  const sha = (await fingerprintFile(file, bytes.length)).sha256;
  const { journal } = await SourceJournal.open<SnapshotImportState>(site, backfillStatePath(site.paths.dir, o.name));
  const saved = journal.committed();
  let state: SnapshotImportState = saved?.kind === kind ? saved : { kind, tracker: new SessionTracker({ source: o.name, cut_s: o.settings.cut_s }).save(), totals: emptyTotals(), imported: [], last_at: null };
  let tracker = SessionTracker.restore(o.name, { ...state.tracker, cut_s: o.settings.cut_s });
  // An import stopped half-way is finished by the next one (before anything else).
  if (tracker.queued) state = await drainTracker(tracker, journal, state, o.policy, report);
  if (state.imported.includes(sha)) return { ...report, already_imported: true };
  // The outputs of one source continue one tracker, whose sessions a holder's start and names
  // identify: read in another zone or encoding, a holder still listed would be a second session.
  sameSettings(kind, `the import of source ${o.name}'s outputs`, state.settings, o.settings);
  const { result, time, events, at } = await parseOutput(kind, file, bytes, o);
  await notListedElsewhere(site, kind, file, o.name, events);
  // An output that lists nothing (empty, an error, another tool's) has no time to keep in order (`at` is -Infinity).
  if (state.last_at !== null && events.length > 0 && at < state.last_at) {
    throw new CollectorError("bad_input", `${file} was taken at ${new Date(at).toISOString()}, before the last output imported for source ${o.name} (${new Date(state.last_at).toISOString()}): import a source's outputs oldest first`);
  }
  tracker = SessionTracker.restore(o.name, { ...state.tracker, cut_s: o.settings.cut_s });
  for (const e of events) tracker.feed(e);
  tracker.feedEnd();
  state = {
    ...state, settings: o.settings, imported: [...state.imported, sha].slice(-KEEP_IMPORTED), last_at: Number.isFinite(at) ? at : state.last_at,
    totals: { ...state.totals, lines: state.totals.lines + result.stats.lines, unknown_lines: state.totals.unknown_lines + result.stats.unknown_lines, bytes: state.totals.bytes + bytes.length },
  };
  state = await drainTracker(tracker, journal, state, o.policy, report);
  const warning = mtimeWarning(events, time);
  return { ...report, lines: result.stats.lines, time_from: time.time_from, ...(warning ? { time_warning: warning } : {}) };
}

/**
 * Appends the records `tracker` has queued, a batch at a time, each append with the state that still
 * holds the rest (an import stopped half-way is finished by the next one); answers the last state.
 */
async function drainTracker<S extends { tracker: TrackerState; totals: SourceTotals }>(tracker: SessionTracker, journal: SourceJournal<S>, state: S, policy: SitePolicy, report: ImportReport): Promise<S> {
  do {
    const bodies = tracker.take(APPEND_RECORDS);
    const { kept, outOfScope } = policy.apply(bodies);
    state = { ...state, tracker: tracker.save(), totals: { ...state.totals, records: state.totals.records + kept.length, out_of_scope: state.totals.out_of_scope + outOfScope } };
    await policy.persist();
    await journal.append(state, kept);
    report.parsed += bodies.length;
    report.appended += kept.length;
    report.out_of_scope += outOfScope;
  } while (tracker.queued);
  return state;
}

/** Refuses an output whose holders another source name has open (snapshot-continuation.ts
 *  `listedElsewhere`): that server's, it would bill them again under this one. */
async function notListedElsewhere(site: Site, kind: string, file: string, name: string, events: SourceEvent[]): Promise<void> {
  const holders = events.flatMap((e) => (e.type === "snapshot" ? e.holders : []));
  const found = await listedElsewhere(site.paths.dir, kind, name, holders);
  if (found === undefined) return;
  const { holder: h, source } = found;
  const by = found.by === "run" ? `source ${source}, which run polls,` : `backfill --name ${source}`;
  throw new CollectorError("usage", `${file} lists ${h.user} on ${h.host} holding ${h.feature} since ${new Date(h.start).toISOString()}${h.handle ? ` (handle ${h.handle})` : ""}, whom ${by} has open: these are its server's outputs, which under the name ${name} would bill every such holder again from its start. Import them with --name ${source}`);
}

/** A saved output read as `o` says, at its time: `--at`, else the time it states, not the file's
 *  mtime (a saved output read years later, #11). */
async function parseOutput(kind: string, file: string, bytes: Buffer, o: ImportOptions) {
  const source = sourceKinds[kind]!.create({ name: o.name, timezone: o.settings.timezone, ...(o.settings.package_features ? { package_features: o.settings.package_features } : {}) }) as SnapshotSource;
  const mtime = Math.floor((await stat(file)).mtimeMs);
  const result = source.parse(decodeOutput(bytes, o.settings.encoding), mtime);
  const time = snapshotTime(result, o.at, mtime);
  const events = result.events.map((e) => (e.type === "snapshot" || e.type === "server_down" ? { ...e, at: time.at } : e));
  return { result, time, events, at: events.reduce((latest, e) => Math.max(latest, e.at), -Infinity) };
}

/**
 * An output of a source the daemon polls, into the daemon's state, as its poll of that time would
 * have been (its snapshot diffed, then tracked): the holders open at the last poll go on, none is
 * billed again from its start. Only outputs taken after its last poll: the time before, the polls billed.
 */
async function importPolled(site: Site, kind: string, file: string, bytes: Buffer, o: ImportOptions, report: ImportReport): Promise<ImportReport> {
  const { journal } = await SourceJournal.open<SnapshotReadState>(site, sourceStatePath(site.paths.dir, o.name));
  let state = asPolled(journal.committed()!);
  sameSettings(kind, `source ${o.name}, which run polls,`, state.settings, o.settings);
  const tracker = SessionTracker.restore(o.name, { ...state.tracker, cut_s: o.settings.cut_s }, await journal.committedAppendix());
  if (tracker.queued) state = await drainTracker(tracker, journal, state, o.policy, report);
  const { result, time, events, at } = await parseOutput(kind, file, bytes, o);
  // An output that lists nothing (empty, an error, another tool's) has no time (`at` is -Infinity):
  // as the daemon's poll of it, it adds nothing.
  if (events.length === 0) return { ...report, lines: result.stats.lines };
  const last = lastPoll(state);
  if (at === last) return { ...report, already_imported: true };
  if (at < last) {
    throw new CollectorError("bad_input", `${file} was taken at ${new Date(at).toISOString()}, before source ${o.name}'s last poll or output imported (${new Date(last).toISOString()}), which billed that time: import only outputs taken after it, oldest first`);
  }
  const diff = new SnapshotDiff();
  if (state.poller) diff.restore(state.poller.diff);
  for (const e of diff.apply(events)) tracker.feed(e);
  tracker.feedEnd();
  state = {
    ...state, settings: o.settings, poller: { ...state.poller, diff: diff.save() },
    totals: { ...state.totals, lines: state.totals.lines + result.stats.lines, unknown_lines: state.totals.unknown_lines + result.stats.unknown_lines, bytes: state.totals.bytes + bytes.length },
  };
  state = await drainTracker(tracker, journal, state, o.policy, report);
  const warning = mtimeWarning(events, time);
  return { ...report, lines: result.stats.lines, time_from: time.time_from, ...(warning ? { time_warning: warning } : {}) };
}
