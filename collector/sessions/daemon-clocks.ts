// Per daemon (and for the whole source, ALL): the last time it was known running — an event or an
// `alive` of it — and the last cut boundary the tracker emitted intervals up to for it.

export const ALL = "*";

export interface DaemonClock { known: number; cutDone: number }

export class DaemonClocks {
  readonly all: DaemonClock = { known: -Infinity, cutDone: -Infinity };
  private readonly clocks = new Map<string, DaemonClock>();
  // Most events come from the same daemon as the one before.
  private lastDaemon: string | undefined;
  private lastClock: DaemonClock = this.all;

  of(daemon: string): DaemonClock {
    if (daemon === this.lastDaemon) return this.lastClock;
    let clock = daemon === ALL ? this.all : this.clocks.get(daemon);
    if (clock === undefined) this.clocks.set(daemon, (clock = { known: -Infinity, cutDone: -Infinity }));
    this.lastDaemon = daemon;
    this.lastClock = clock;
    return clock;
  }

  /** `daemon` was running at `at`. */
  touch(daemon: string, at: number): DaemonClock {
    const clock = this.of(daemon);
    if (!(clock.known >= at)) clock.known = at;
    return clock;
  }

  /** Forget what was known of `daemon` (or of all): nothing of it is open any more. */
  forget(daemon: string | undefined): void {
    for (const [name, clock] of this.entries()) {
      if (daemon === undefined || name === daemon) Object.assign(clock, { known: -Infinity, cutDone: -Infinity });
    }
  }

  save(): { lastKnown: Record<string, number>; cutDone: Record<string, number> } {
    const lastKnown: Record<string, number> = {}, cutDone: Record<string, number> = {};
    for (const [name, clock] of this.entries()) {
      if (clock.known !== -Infinity) lastKnown[name] = clock.known;
      if (clock.cutDone !== -Infinity) cutDone[name] = clock.cutDone;
    }
    return { lastKnown, cutDone };
  }

  restore(lastKnown: Record<string, number>, cutDone: Record<string, number>): void {
    for (const [daemon, known] of Object.entries(lastKnown)) this.of(daemon).known = known;
    for (const [daemon, done] of Object.entries(cutDone)) this.of(daemon).cutDone = done;
  }

  private entries(): Array<[string, DaemonClock]> {
    return [...this.clocks, [ALL, this.all]];
  }
}
