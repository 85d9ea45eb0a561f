// Who a FlexLM usage line names — feature, user, host, token-pool product — interned, and cached by
// the text that names them (`"MATLAB" ann@pc1`): one lookup per line instead of cutting out and
// interning each name again. Then the line's usage event, from its kind and what it names.
import { whoOf, type UsageKind, type UsageScan, type Who } from "./flexlm-usage-line.ts";
import type { CheckinReason } from "./events.ts";
import { detached, type NameTable } from "./name-table.ts";
import type { UsageEvent } from "./package-filter.ts";

const MAX_HOLDERS = 100_000;
// lmgrd's `(%d->%d licenses)`: the checkout's count before and after an upgrade.
const UPGRADE_COUNTS = /^(\d+)->(\d+) licenses$/;

export class FlexlmHolders {
  private readonly names: NameTable;
  private readonly byText = new Map<string, Who>();

  constructor(names: NameTable) {
    this.names = names;
  }

  /** The names of the scanned holder, or undefined when they make none. */
  of(text: string, scan: UsageScan): Who | undefined {
    if (scan.verbose) return this.intern(whoOf(text, scan)); // the user may come from the verbose part
    const key = text.slice(scan.who, scan.whoEnd);
    let who = this.byText.get(key);
    if (who === undefined) {
      who = this.intern(whoOf(text, scan));
      if (who === undefined) return undefined;
      if (this.byText.size >= MAX_HOLDERS) this.byText.clear();
      // A copy, not into the name table: a site of many holders would fill it with keys, and clear its names.
      this.byText.set(detached(key), who);
    }
    return who;
  }

  /** The event of a usage line of `daemon` naming `who` (its time still 0), or undefined for kinds that bill nothing. */
  eventOf(kind: UsageKind, daemon: string, who: Who, scan: UsageScan): UsageEvent | undefined {
    const feature = who.feature, user = who.user, host = who.host;
    let event: Extract<UsageEvent, { type: "checkout" | "checkin" }>;
    if (kind === "OUT") event = { type: "checkout", at: 0, daemon, feature, user, host, count: scan.count };
    else if (kind === "IN") {
      event = { type: "checkin", at: 0, daemon, feature, user, host, count: scan.count, reason: reasonOf(scan.notes) };
    } else if (kind === "DENIED") return { type: "denial", at: 0, daemon, feature, user, host, reason: scan.notes.at(-1) ?? "denied" };
    else return undefined;
    if (scan.verbose) event.handle = this.names.intern(scan.verbose.handle);
    if (who.product !== undefined) event.product = who.product;
    return event;
  }

  /**
   * An `UPGRADE` line (`(2->4 licenses)`): a client that holds the first count checked out more of the
   * feature and now holds the second (FLEXlm's vendor daemon adds the new licenses to the checkout it
   * has and logs the old and new totals). The checkout of the old count ends and one of the new count
   * starts, so the `IN … (4 licenses)` that follows ends it. Undefined when the counts are not there.
   */
  upgradeOf(daemon: string, who: Who, scan: UsageScan): [UsageEvent, UsageEvent] | undefined {
    const counts = scan.notes.length === 1 ? UPGRADE_COUNTS.exec(scan.notes[0]!) : null;
    if (!counts) return undefined;
    const holder = { daemon, feature: who.feature, user: who.user, host: who.host, ...(who.product !== undefined ? { product: who.product } : {}) };
    return [
      { type: "checkin", at: 0, ...holder, count: Number(counts[1]), reason: "normal" },
      { type: "checkout", at: 0, ...holder, count: Number(counts[2]) },
    ];
  }

  private intern(who: Who | undefined): Who | undefined {
    if (who === undefined) return undefined;
    const names = this.names;
    const interned: Who = { feature: names.intern(who.feature), user: names.intern(who.user), host: names.intern(who.host) };
    if (who.product !== undefined) interned.product = names.intern(who.product);
    return interned;
  }
}

/** An IN line's reason, from its suffixes. */
export function reasonOf(notes: string[]): CheckinReason {
  const note = notes.length === 0 ? "" : notes.join(" ");
  return note === "SHUTDOWN" ? "shutdown" : note === "INACTIVE" ? "inactive" : "normal";
}
