// Who a FlexLM usage line names — feature, user, host, token-pool product — interned, and cached by
// the text that names them (`"MATLAB" ann@pc1`): one lookup per line instead of cutting out and
// interning each name again. The lookup first tries a direct-mapped cache found from a few
// characters of the line and checked in place (no string is cut out of the line on a hit), then a
// map of every holder text seen. Then the line's usage event, from its kind and what it names.
import { whoOf, type UsageKind, type UsageScan, type Who } from "./flexlm-usage-line.ts";
import type { NameTable } from "./name-table.ts";
import type { UsageEvent } from "./package-filter.ts";

const MAX_HOLDERS = 100_000;
const SLOTS = 8192;

/** A holder text (interned) and the names it makes. */
interface Holder { text: string; who: Who }

export class FlexlmHolders {
  private readonly names: NameTable;
  private readonly byText = new Map<string, Holder>();
  private readonly slots: Array<Holder | undefined> = new Array<Holder | undefined>(SLOTS).fill(undefined);

  constructor(names: NameTable) {
    this.names = names;
  }

  /** The names of the scanned holder, or undefined when they make none. */
  of(text: string, scan: UsageScan): Who | undefined {
    if (scan.verbose) return this.intern(whoOf(text, scan)); // the user may come from the verbose part
    const from = scan.who, to = scan.whoEnd;
    const slot = slotOf(text, from, to);
    const cached = this.slots[slot];
    if (cached !== undefined && cached.text.length === to - from && text.startsWith(cached.text, from)) return cached.who;
    const key = text.slice(from, to);
    let holder = this.byText.get(key);
    if (holder === undefined) {
      const who = this.intern(whoOf(text, scan));
      if (who === undefined) return undefined;
      if (this.byText.size >= MAX_HOLDERS) this.byText.clear();
      holder = { text: this.names.intern(key), who };
      this.byText.set(holder.text, holder);
    }
    this.slots[slot] = holder;
    return holder.who;
  }

  /** The event of a usage line of `daemon` naming `who` (its time still 0), or undefined for kinds that bill nothing. */
  eventOf(kind: UsageKind, daemon: string, who: Who, scan: UsageScan): UsageEvent | undefined {
    const feature = who.feature, user = who.user, host = who.host;
    let event: Extract<UsageEvent, { type: "checkout" | "checkin" }>;
    if (kind === "OUT") event = { type: "checkout", at: 0, daemon, feature, user, host, count: scan.count };
    else if (kind === "IN") {
      const note = scan.notes.length === 0 ? "" : scan.notes.join(" ");
      const reason = note === "SHUTDOWN" ? "shutdown" : note === "INACTIVE" ? "inactive" : "normal";
      event = { type: "checkin", at: 0, daemon, feature, user, host, count: scan.count, reason };
    } else if (kind === "DENIED") return { type: "denial", at: 0, daemon, feature, user, host, reason: scan.notes.at(-1) ?? "denied" };
    else return undefined;
    if (scan.verbose) event.handle = this.names.intern(scan.verbose.handle);
    if (who.product !== undefined) event.product = who.product;
    return event;
  }

  private intern(who: Who | undefined): Who | undefined {
    if (who === undefined) return undefined;
    const names = this.names;
    const interned: Who = { feature: names.intern(who.feature), user: names.intern(who.user), host: names.intern(who.host) };
    if (who.product !== undefined) interned.product = names.intern(who.product);
    return interned;
  }
}

/** A cheap spread of a holder text over the slots, from its length and a few of its characters. */
function slotOf(text: string, from: number, to: number): number {
  const n = to - from;
  let h = Math.imul(n, 0x9e3779b1) ^ text.charCodeAt(from + 1) ^ (text.charCodeAt(to - 1) << 8) ^ (text.charCodeAt(to - 2) << 16);
  h = Math.imul(h ^ text.charCodeAt(to - 3) ^ (text.charCodeAt(from + (n >> 1)) << 8) ^ (text.charCodeAt(to - 4) << 16), 0x85ebca6b);
  h = Math.imul(h ^ text.charCodeAt(from + (n >> 2)) ^ (text.charCodeAt(to - 5) << 8) ^ (text.charCodeAt(from + n - (n >> 2)) << 16), 0xc2b2ae35);
  return (h ^ (h >>> 15)) & (SLOTS - 1);
}
