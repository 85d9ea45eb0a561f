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
    this.ordinal = -1;
    if (e.type === "server_down" || e.type === "snapshot") return;
    const at = wholeSecond(e.at);
    if (at > this.maxAt) this.maxAt = at;
    // Not even counted while the tracker is not behind: when the worker is the slower side, its time
    // is better spent reading on. A count that missed some starts only makes a later guess wrong.
    if (!hash || e.type !== "checkout" || e.handle !== undefined) return;
    const holder = this.keys.holderOf(e.daemon, e.feature, e.user, e.host, "", e.product), key = holder.key;
    this.ordinal = this.ids.ordinal(key, at, this.maxAt, holder);
    this.id = this.ids.idOf(key, at, this.ordinal);
  }
}
