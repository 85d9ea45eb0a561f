// Session ids hashed ahead, on the parse worker's thread (line-parse-worker.ts): for each checkout
// the id the session tracker will give it, counted the way the tracker counts (same pairing key,
// same start second, same ordinal bookkeeping), so that the tracker — the slower half of a parse —
// only checks the ordinal instead of hashing (SessionIds.prepare). Only checkouts without a handle:
// those always open a session; one with a handle may be a duplicate, which only the tracker knows.
// A guess that turns out wrong (a clock stepped back past what the ordinals keep) costs nothing
// but the tracker hashing that one itself.
import type { SourceEvent } from "../sources/events.ts";
import { HolderKeys } from "./holder-keys.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";
import { SessionIds } from "./session-ids.ts";

export class IdsAhead {
  private readonly ids: SessionIds;
  private readonly keys = new HolderKeys();
  private maxAt = -Infinity;
  /** The last event's guess (ordinal -1: none). */
  ordinal = -1;
  id = "";

  /** `source`: the tracker's source name (it starts every id's text). */
  constructor(source: string) {
    this.ids = new SessionIds(source);
  }

  /**
   * Sets `ordinal` and `id` for this event, or `ordinal` -1. Events must come in the tracker's order.
   * `hash` false: nothing (the tracker counts and hashes this one; the worker has no time to spare).
   */
  see(e: SourceEvent, hash: boolean): void {
    if (e.type === "server_down" || e.type === "snapshot") this.ordinal = -1;
    else if (e.type === "checkout") this.seeCheckout(e.at, e.daemon, e.feature, e.user, e.host, e.product, e.handle, hash);
    else this.seeAt(e.at);
  }

  /** `see` for a checkout given by its fields. */
  seeCheckout(at: number, daemon: string, feature: string, user: string, host: string, product: string | undefined, handle: string | undefined, hash: boolean): void {
    const second = this.seeAt(at);
    // Not even counted while the tracker is not behind: when the worker is the slower side, its time
    // is better spent reading on. A count that missed some starts only makes a later guess wrong.
    if (!hash || handle !== undefined) return;
    const holder = this.keys.holderOf(daemon, feature, user, host, "", product), key = holder.key;
    this.ordinal = this.ids.ordinal(key, second, this.maxAt, holder);
    this.id = this.ids.idOf(key, second, this.ordinal);
  }

  /** `see` for any other event at `at` (nothing hashed); returns its whole second. */
  seeAt(at: number): number {
    this.ordinal = -1;
    const second = wholeSecond(at);
    if (second > this.maxAt) this.maxAt = second;
    return second;
  }
}
