// One configured source inside the daemon: its reader (a followed log or a polled snapshot), the
// journal that keeps the reader's state in step with the log, and its health. A step reads a
// bounded amount, applies the site's policy (scope, pseudonyms) and appends what is left together
// with the new state. After any failure the reader is dropped and reopened from the journal's
// committed state, so what the failed step read is read again — never lost, never twice.
//
// Steps are written behind: a step's records and state are handed to the journal, which makes them
// durable while the next step reads and parses; that next step waits for them before its own
// writes start (so its failure is reported there). `flush` waits for the last one: the daemon
// flushes before anything else appends (heartbeats, cuts, other sources) and before it reports.
// A followed log's records reach the journal as each slice of the step completes them (`stage`),
// and go to the log with the step's state; the session tracker's same-second table is kept in the
// journal's appendix (stateApart), so a step writes what it changed of it.
import type { SitePolicy } from "../chain/site-policy.ts";
import { CollectorError } from "../errors.ts";
import type { RecordBody } from "../sessions/records.ts";
import { onSecondThread } from "../sources/parse-file.ts";
import { sourceKinds } from "../sources/registry.ts";
import type { Site } from "../site.ts";
import { LineReader, type LineReadState } from "./line-reader.ts";
import { backfilledLog, backlogBytes, checkFirstRead, checkNotReadBefore, movedLog } from "./log-first-read.ts";
import { settingsChange, type ReadSettings } from "./read-settings.ts";
import { sourceOrigin, type SourceConfig } from "./run-config.ts";
import { SnapshotReader, type SnapshotReadState } from "./snapshot-reader.ts";
import { polledBefore, takeOver } from "./snapshot-takeover.ts";
import { asPolled, backfilledBefore, backfilledElsewhere, lastListed, listedNow } from "./snapshot-continuation.ts";
import { SourceHealth } from "./source-health.ts";
import { SourceJournal, sourceStatePath } from "./source-journal.ts";
import { emptyTotals } from "./source-totals.ts";

type ReadState = LineReadState | SnapshotReadState;

const SAVE_IDLE_STATE_MS = 60_000;

export interface StepResult {
  /** Records made durable during the call (an earlier step's, written behind). */
  appended: number;
  caughtUp: boolean;
  /** Something was made durable during the call (records or state): the disk took it. */
  wrote: boolean;
}

/** The rest of the config, as far as a source needs it: the names of its sources (a state of
 *  none of them is a renamed source's), and where the daemon logs. */
export interface SourceContext {
  configured: ReadonlySet<string>;
  log: (line: string) => void;
}

export class DaemonSource {
  readonly config: SourceConfig;
  readonly health: SourceHealth;
  /** When the next step is due (ms). */
  nextDue = 0;
  readonly #site: Site;
  readonly #settings: ReadSettings;
  readonly #clock: () => number;
  readonly #context: SourceContext;
  #journal: SourceJournal<ReadState>;
  #reader: LineReader | SnapshotReader | undefined;
  /** Real time of the last state write, and whether the reader moved on since without records. */
  #savedAt = 0;
  #dirty = false;
  /** The step being written behind (its record count), or null. */
  #behind: { records: number } | null = null;
  /** Records of the step being read, handed to the journal as they came (kept by the policy, and not). */
  #staged = { kept: 0, outOfScope: 0 };
  /** A log first read while empty (or not there): its first-read checks wait for its first bytes. */
  #firstReadPending = false;

  private constructor(site: Site, config: SourceConfig, cutS: number, journal: SourceJournal<ReadState>, clock: () => number, context: SourceContext) {
    this.#site = site;
    this.#context = context;
    this.config = config;
    this.#clock = clock;
    this.#journal = journal;
    this.#settings = { timezone: config.timezone, encoding: config.encoding, cut_s: cutS, ...(config.package_features ? { package_features: config.package_features } : {}) };
    this.health = new SourceHealth(config.name, config.kind, config.interval_s, journal.committed()?.totals ?? emptyTotals());
  }

  static async open(site: Site, config: SourceConfig, cutS: number, clock: () => number, context: SourceContext): Promise<DaemonSource> {
    const { journal } = await SourceJournal.open<ReadState>(site, sourceStatePath(site.paths.dir, config.name));
    return new DaemonSource(site, config, cutS, journal, clock, context);
  }

  /** Whether an earlier failed append is still written down as pending (disk full): no append
   *  of any source may happen until it is cleared. */
  async settled(): Promise<boolean> {
    try {
      await this.#journal.clearStale();
    } catch {
      return false;
    }
    return true;
  }

  /** One bounded read and the append of what it completed. */
  async step(now: number, policy: SitePolicy): Promise<StepResult> {
    const reader = await this.#open();
    if (reader instanceof LineReader) {
      // Its kind, encoding and zone are judged by its first lines, once there are some (log-first-read.ts).
      if (this.#firstReadPending) this.#firstReadPending = !(await checkFirstRead(this.config, this.#clock));
      this.#staged = { kept: 0, outOfScope: 0 };
      const step = await reader.read(undefined, undefined, (bodies) => this.#stage(bodies, policy));
      // An idle poll read nothing and changed nothing: no state to write — unless it is the first
      // of a log started at its end, whose place must be kept: else every restart (each `run --once`)
      // started at the end again, and what was written in between was never read.
      const placed = this.config.start_at === "end" && !step.missing && this.#journal.committed() === undefined;
      const done = placed || step.lines > 0 || step.bodies.length > 0 || this.#staged.kept + this.#staged.outOfScope > 0 ? await this.#append(reader, step.bodies, policy) : null;
      if (step.missing) this.health.ok(now, false, `${this.config.file} does not exist`);
      else this.health.ok(now, true);
      const { offset, size } = reader.progress();
      this.health.progress(now, offset, size, step.caughtUp);
      return { appended: done?.records ?? 0, caughtUp: step.caughtUp, wrote: done !== null };
    }
    const bodies = await reader.read();
    const done = await this.#append(reader, bodies, policy);
    const h = reader.health();
    this.health.ok(now, h.up, h.reason);
    return { appended: done?.records ?? 0, caughtUp: !reader.queued, wrote: done !== null };
  }

  /** Waits until the step written behind is durable; what it appended. */
  async flush(): Promise<{ appended: number; wrote: boolean }> {
    await this.#journal.durable();
    const done = this.#behind;
    this.#behind = null;
    return { appended: done?.records ?? 0, wrote: done !== null };
  }

  /** Cuts every open session at `now` (before a sync the edge will receive); durable on return. */
  async cut(now: number, policy: SitePolicy): Promise<number> {
    const reader = await this.#open();
    const before = await this.#append(reader, reader.cut(now), policy);
    return (before?.records ?? 0) + (await this.flush()).appended;
  }

  /** After a failure: the reader goes; the next step reopens it from the committed state. */
  async reset(): Promise<void> {
    const reader = this.#reader;
    this.#reader = undefined;
    this.#behind = null;
    await reader?.close().catch(() => undefined);
    // A step still being written settles first: the file reopened is then the last word.
    await this.#journal.durable().catch(() => undefined);
    this.#journal = (await SourceJournal.open<ReadState>(this.#site, this.#journal.path)).journal;
  }

  async close(): Promise<void> {
    if (this.#reader && this.#dirty) {
      const { state, apart } = this.#reader.stateApart();
      await this.#journal.append(state, [], apart).catch(() => undefined);
    }
    await this.#journal.durable().catch(() => undefined);
    await this.#reader?.close();
    this.#reader = undefined;
  }

  /** Records of the step being read, as they come: the policy applied, prepared by the journal. */
  #stage(bodies: RecordBody[], policy: SitePolicy): void {
    const { kept, outOfScope } = policy.apply(bodies);
    this.#journal.stage(kept);
    this.#staged.kept += kept.length;
    this.#staged.outOfScope += outOfScope;
  }

  /** Hands the step (what was staged and `bodies`) to the journal (written behind); returns the step
   *  before it once that one is durable (null when none was being written). */
  async #append(reader: LineReader | SnapshotReader, bodies: RecordBody[], policy: SitePolicy): Promise<{ records: number } | null> {
    const applied = policy.apply(bodies);
    const kept = applied.kept;
    const records = kept.length + this.#staged.kept;
    const totals = reader.totals();
    totals.records += records;
    totals.out_of_scope += applied.outOfScope + this.#staged.outOfScope;
    this.#staged = { kept: 0, outOfScope: 0 };
    this.health.totals(totals, reader.licensesInUse());
    // Lines that completed no record change nothing a crash could double or lose: reading them
    // again gives the same state. Their state is written at most once a minute (or at close).
    if (records === 0 && Date.now() - this.#savedAt < SAVE_IDLE_STATE_MS) {
      this.#dirty = true;
      return null;
    }
    await policy.persist();
    const { state, apart } = reader.stateApart();
    await this.#journal.begin(state, kept, apart);
    const done = this.#behind;
    this.#behind = { records };
    this.#savedAt = Date.now();
    this.#dirty = false;
    return done;
  }

  async #open(): Promise<LineReader | SnapshotReader> {
    if (this.#reader) return this.#reader;
    const c = this.config;
    const saved = this.#journal.committed();
    if (sourceKinds[c.kind]!.shape === "lines") {
      let state = (saved as LineReadState | undefined) ?? (c.start_at === "end" ? undefined : await this.#backfilled());
      if (state !== undefined && state.file !== c.file) state = await movedLog(c, state);
      this.#checkSameSettings(state);
      const appendix = await this.#journal.committedAppendix();
      // A big backlog (a first start on a long log) is read on a second thread while a core is
      // spare, up to the step that catches up (line-reader.ts): the same records and states.
      if (state?.file !== c.file) {
        this.#firstReadPending = !(await checkFirstRead(c, this.#clock));
        if (c.start_at !== "end") await checkNotReadBefore(this.#site.paths.dir, c);
      }
      const thread = onSecondThread(await backlogBytes(c.file!, state?.file === c.file ? state?.tail?.offset ?? 0 : 0));
      this.#reader = LineReader.open(c.name, c.kind, c.file!, this.#settings, state, { startAtEnd: c.start_at === "end", thread, ...(appendix !== undefined ? { appendix } : {}) });
    } else {
      const found = (saved as SnapshotReadState | undefined) ?? await this.#continued();
      this.#checkSameSettings(found);
      // A backfill's state (taken over, or left so by a crash before the first poll's write) goes on polled.
      const state = found && found.kind === c.kind ? asPolled(found) : found;
      const appendix = await this.#journal.committedAppendix();
      const origin = { interval_s: c.interval_s, polls: sourceOrigin(c), ...(c.file ? { file: c.file } : { command: c.command! }), ...(c.encoding_given ? {} : { utf8Checked: c.name }) };
      this.#reader = new SnapshotReader(c.name, c.kind, origin, this.#settings, state, this.#clock, appendix);
    }
    this.health.totals(this.#reader.totals(), this.#reader.licensesInUse());
    return this.#reader;
  }

  /**
   * A snapshot source without a state of its own that polls what a source no longer in the config
   * polled (renamed) goes on with that state (snapshot-takeover.ts): afresh, it would check every
   * holder it lists out again at its stated start, which the old state has billed. Moved only once
   * the settings are the ones it was read with (else the source fails, and nothing moved). Else, a
   * backfill of its saved outputs under its name goes on polled (snapshot-continuation.ts), alike — or
   * under a name no source has, whose open holders its first poll lists (that server's outputs).
   */
  async #continued(): Promise<SnapshotReadState | undefined> {
    const c = this.config;
    const found = await polledBefore(this.#site.paths.dir, c.kind, sourceOrigin(c), this.#context.configured);
    const backfilled = found === undefined
      ? await backfilledBefore(this.#site.paths.dir, c.name, c.kind) ?? await backfilledElsewhere(this.#site.paths.dir, c.kind, this.#context.configured, () => listedNow(c, this.#settings.timezone, this.#clock))
      : undefined;
    const from = found ?? backfilled;
    if (from === undefined) return undefined;
    this.#checkSameSettings(from.state);
    await takeOver(this.#site, from, c.name); // a backfill's state moves as a renamed source's does
    this.#journal = (await SourceJournal.open<ReadState>(this.#site, this.#journal.path)).journal;
    this.#context.log(found
      ? `source ${c.name} goes on with the state of source ${found.name}, which polled the same ${c.file ? "file" : "command"}: its open sessions go on, none is reported again from its start`
      : `source ${c.name} goes on with the state of backfill --name ${backfilled!.name.slice(0, -"@snapshots".length)} (its saved outputs, the last taken at ${lastListed(backfilled!.state)}${backfilled!.name === `${c.name}@snapshots` ? "" : ", whose open holders its first poll lists"}): the holders open then go on, none is reported again from its start`);
    return this.#journal.committed() as SnapshotReadState | undefined;
  }

  /**
   * A backfill of this source's log (under any name; log-first-read.ts `backfilledLog`): its state
   * moves to this source's name and the log is read on from where the import stopped — as run goes on
   * from a backfill of a polled source's outputs. Not for `start_at: "end"` (only what comes next).
   */
  async #backfilled(): Promise<LineReadState | undefined> {
    const c = this.config;
    const found = await backfilledLog(this.#site.paths.dir, c);
    if (found === undefined) return undefined;
    this.#checkSameSettings(found.state);
    const name = found.entry.slice(0, -".json".length);
    await takeOver(this.#site, { name, path: found.path }, c.name);
    this.#journal = (await SourceJournal.open<ReadState>(this.#site, this.#journal.path)).journal;
    this.#context.log(`source ${c.name} goes on with the state of backfill --name ${name.slice(0, name.indexOf("@"))}, which imported ${c.file} to byte ${found.state.tail?.offset ?? 0}: the log is read on from there, nothing is reported again`);
    return this.#journal.committed() as LineReadState | undefined;
  }

  /**
   * A saved state goes on only as it was read (read-settings.ts `settingsChange`): a zone, encoding or
   * package features changed in the config since would shift or mis-pair what follows, silently. The
   * source fails instead (bad_config, reason settings_changed; retried, shown in status) until the
   * config gives them back — or names the log as a new source with `start_at: "end"` (only what comes
   * next: from the beginning it would report the history again), as backfill refuses to go on with
   * other settings.
   */
  #checkSameSettings(saved: ReadState | undefined): void {
    const c = this.config;
    if (saved === undefined || saved.kind !== c.kind || ("file" in saved && saved.file !== c.file)) return; // starts afresh
    const change = settingsChange(c.kind, saved.settings, this.#settings);
    if (change === null) return;
    throw new CollectorError("bad_config", `source ${c.name} was read with other settings than the config now gives (${change}): the rest of it read otherwise would shift or mis-pair what follows, and the sessions open across the change. Give the settings back, or read it on as a new source: another name, with "start_at": "end" (a new source read from the beginning would report the log's history again)`, { reason: "settings_changed", source: c.name });
  }

}
