// A FlexLM usage line whose parenthesised suffix is wrapped onto the next line, alone and without an
// envelope, as DOORS's `telelogic` vendor daemon writes them after the `[…]` checkout data:
//   14:46:39 (telelogic) OUT: TLSTOK-token indkach@indkach  [DOORS]
//   (3 licenses)
// Such a line's event waits one line for its suffix: an OUT's or IN's count, a denial's reason, a
// check-in's INACTIVE/SHUTDOWN. Read as two lines, the checkout was one license (a third of its use)
// and its suffix an unknown line.
import type { UsageEvent } from "./package-filter.ts";

const SUFFIX = /^\s*\(((\d+) licenses?|.*)\)\s*$/;

/** What a saved parser keeps of it: the dated event still waiting, or the index in the held lines of an undated one. */
export interface WrappedState {
  wrapped?: UsageEvent;
  wrappedHeld?: number;
}

type Held = { what: string; event?: UsageEvent };

export class WrappedSuffix {
  private wait: { event: UsageEvent; dated: boolean } | null = null;

  /** Whether a usage message whose holder ends at `whoEnd` may have its suffix on the next line: it ends on `]`, nothing after. */
  static mayWrap(text: string, whoEnd: number, end: number): boolean {
    if (text.charCodeAt(whoEnd - 1) !== 93) return false;
    for (let i = whoEnd; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 13) return false;
    }
    return true;
  }

  get waiting(): boolean {
    return this.wait !== null;
  }

  /** The event of the line just read waits for the next line (dated: released by `next` or `take`; else it is held, only amended). */
  waitFor(event: UsageEvent, dated: boolean): void {
    this.wait = { event, dated };
  }

  /** Whether text[start, end) is the waiting event's suffix (then the event has it). Either way, the wait is over: `take` it. */
  read(text: string, start: number, end: number): boolean {
    const event = this.wait!.event;
    const suffix = SUFFIX.exec(text.slice(start, end));
    if (suffix === null) return false;
    const note = suffix[1]!;
    if (suffix[2] !== undefined) {
      if (event.type === "denial") return false;
      event.count = Number(suffix[2]);
    } else if (event.type === "denial") event.reason = note.trim();
    else if (event.type === "checkin" && (note === "INACTIVE" || note === "SHUTDOWN")) event.reason = note === "SHUTDOWN" ? "shutdown" : "inactive";
    else return false;
    return true;
  }

  /** The end of the wait: the dated event to pass on, if any. */
  take(): UsageEvent | undefined {
    const wait = this.wait;
    this.wait = null;
    return wait?.dated ? wait.event : undefined;
  }

  save(held: readonly Held[]): WrappedState {
    const wait = this.wait;
    if (wait === null) return {};
    if (wait.dated) return { wrapped: wait.event };
    const i = held.findIndex((h) => h.event === wait.event);
    return i < 0 ? {} : { wrappedHeld: i };
  }

  restore(state: WrappedState, held: readonly Held[]): void {
    const event = state.wrappedHeld === undefined ? undefined : held[state.wrappedHeld]?.event;
    this.wait = state.wrapped ? { event: state.wrapped, dated: true } : event ? { event, dated: false } : null;
  }
}
