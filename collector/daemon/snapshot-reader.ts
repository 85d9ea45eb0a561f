// A snapshot source (lmstat, rlmstat, LM-X, DSLS, lsmon) polled by the daemon: command or file →
// parser → snapshot diff → session tracker, with the diff's and the tracker's states as one
// plain-JSON value a SourceJournal keeps in step with the log, so a restart goes on with the
// sessions it had open instead of reporting them again from their start.
import { localTimeZone } from "../../shared/time/zoned.ts";
import type { RecordBody } from "../sessions/records.ts";
import { type SameSecondChange, SessionTracker, type TrackerState } from "../sessions/session-tracker.ts";
import type { SnapshotSource, SourceOptions } from "../sources/events.ts";
import { SnapshotPoller, type PollerState, type SourceHealth } from "../sources/poller.ts";
import { sourceKinds } from "../sources/registry.ts";
import { STEP_RECORDS } from "./line-reader.ts";
import type { ReadSettings } from "./read-settings.ts";
import { emptyTotals, licensesHeld, type SourceTotals } from "./source-totals.ts";

export interface SnapshotReadState {
  kind: string;
  settings: ReadSettings;
  /** What it polls (run-config.ts `sourceOrigin`), by which a source renamed in the config goes on
   *  with this state (snapshot-takeover.ts). States written before 2026-12-05 lack it. */
  polls?: string;
  poller?: PollerState;
  tracker: TrackerState;
  totals: SourceTotals;
}

export interface SnapshotOrigin {
  file?: string;
  command?: string[];
  interval_s: number;
  /** What it polls as the state keeps it (run-config.ts `sourceOrigin`). */
  polls?: string;
  /** The source's name when its encoding was not given: an output not in UTF-8 is refused (poller.ts). */
  utf8Checked?: string;
}

export class SnapshotReader {
  readonly name: string;
  readonly kind: string;
  readonly #poller: SnapshotPoller;
  readonly #tracker: SessionTracker;
  readonly #settings: ReadSettings;
  readonly #totals: SourceTotals;
  readonly #polls: string | undefined;

  /** `appendix`: the text of the saved state's appendix, for a state saved by `stateApart`. */
  constructor(name: string, kind: string, origin: SnapshotOrigin, settings: ReadSettings, saved: SnapshotReadState | undefined, clock: () => number, appendix?: string) {
    const factory = sourceKinds[kind];
    if (factory?.shape !== "snapshot") throw new RangeError(`${kind} is not a snapshot source`);
    this.name = name;
    this.kind = kind;
    this.#settings = settings;
    this.#polls = origin.polls;
    const options: SourceOptions = { name, timezone: settings.timezone || localTimeZone(), ...(settings.package_features ? { package_features: settings.package_features } : {}) };
    const same = saved !== undefined && saved.kind === kind;
    this.#tracker = same ? SessionTracker.restore(name, { ...saved.tracker, cut_s: settings.cut_s }, appendix) : new SessionTracker({ source: name, cut_s: settings.cut_s });
    this.#totals = same ? { ...emptyTotals(), ...saved.totals } : emptyTotals();
    this.#poller = new SnapshotPoller({
      source: factory.create(options) as SnapshotSource, interval_s: origin.interval_s, encoding: settings.encoding,
      ...(origin.utf8Checked !== undefined ? { utf8Checked: origin.utf8Checked } : {}), kindChecked: { kind, source: name },
      ...(origin.file ? { file: origin.file } : { command: { path: origin.command![0]!, args: origin.command!.slice(1) } }),
    }, (events, result) => {
      for (const e of events) this.#tracker.feed(e);
      if (result) {
        this.#totals.lines += result.stats.lines;
        this.#totals.unknown_lines += result.stats.unknown_lines;
      }
    }, clock);
    if (same && saved.poller) this.#poller.restore(saved.poller);
  }

  /** One poll and (at most `maxRecords` of) the records it completes; while records are still
   *  queued (a license borrowed months ago is months of intervals), only those are taken. A command
   *  that fails is the server's health, not an error. */
  async read(maxRecords = STEP_RECORDS): Promise<RecordBody[]> {
    if (!this.#tracker.queued) await this.#poller.pollOnce();
    return this.#tracker.take(maxRecords);
  }

  /** Records of the last poll still queued: step again before the next poll. */
  get queued(): boolean {
    return this.#tracker.queued;
  }

  cut(now: number): RecordBody[] {
    return this.#tracker.flush(now);
  }

  health(): SourceHealth {
    return this.#poller.health();
  }

  totals(): SourceTotals {
    return this.#totals;
  }

  licensesInUse(): Record<string, number> {
    return licensesHeld(this.#tracker);
  }

  state(): SnapshotReadState {
    return this.#state(this.#tracker.save());
  }

  /** As LineReader.stateApart: the same-second table kept apart, and its change. */
  stateApart(): { state: SnapshotReadState; apart: SameSecondChange } {
    const { state, sameSecond } = this.#tracker.saveApart();
    return { state: this.#state(state), apart: sameSecond };
  }

  #state(tracker: TrackerState): SnapshotReadState {
    return { kind: this.kind, settings: this.#settings, ...(this.#polls !== undefined ? { polls: this.#polls } : {}), poller: this.#poller.save(), tracker, totals: { ...this.#totals } };
  }

  close(): Promise<void> {
    return this.#poller.stop();
  }
}
