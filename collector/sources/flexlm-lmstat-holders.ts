// The holders of one `lmstat -a` output, built as its user lines are read: one object per holder,
// its names interned and its handle one flat string, so a 50,000-holder output costs little more
// than its holders. Two things only the whole output decides are filled in by `finish`: each start's
// year (the header that anchors it may come after the user lines) and, for lines outside a
// `"FEATURE" vN, vendor: V` sub-block, the daemon (the only vendor daemon that is UP).
import type { SnapshotHolder } from "./events.ts";
import { poolProduct, type LmstatUserLine } from "./flexlm-lmstat-line.ts";
import type { NameTable } from "./name-table.ts";
import { WEEKDAYS, yearlessToUtc, type YearlessStamp } from "./snapshot-year.ts";
import type { WallClock } from "./wall-clock.ts";
import type { WallTime } from "../../shared/time/zoned.ts";

type Held = SnapshotHolder;

/** Not a weekday: matches none (`resolveYear` compares the token's first three letters, lowercased). */
const NO_WEEKDAY = 7;
const NO_SECOND = 100;

export class LmstatHolders {
  private readonly names: NameTable;
  private readonly list: Held[] = [];
  /** Each holder's start as printed, packed into one number (`pack`): no object per holder waits for the year. */
  private readonly stamps: number[] = [];
  private readonly vendorless: Held[] = [];

  constructor(names: NameTable) {
    this.names = names;
  }

  /** The holder of one user line under `feature` (and its sub-block, if any). */
  add(feature: string, sub: { version: string; vendor: string } | undefined, u: LmstatUserLine): void {
    const names = this.names;
    const found = poolProduct(feature, u.extra);
    const user = names.intern(u.user), host = names.intern(u.host), count = u.count;
    const handle = u.handle === "" ? "" : [u.server, "/", u.port, " ", u.handle].join("");
    // Literals in the order the holder's fields have always had; `start` is a double from the outset.
    let h: Held;
    if (sub === undefined) {
      const daemon = "";
      h = found === undefined ? { daemon, feature, user, host, handle, count, start: NaN }
        : { daemon, feature, user, host, handle, product: names.intern(found), count, start: NaN };
      this.vendorless.push(h);
    } else {
      const daemon = sub.vendor, version = sub.version;
      h = found === undefined ? { daemon, feature, version, user, host, handle, count, start: NaN }
        : { daemon, feature, version, user, host, handle, product: names.intern(found), count, start: NaN };
    }
    this.list.push(h);
    this.stamps.push(pack(u.start));
  }

  /** Every holder, complete: starts read against the server clock's `anchor`, sub-block-less lines given `onlyVendor`. */
  finish(onlyVendor: string, anchor: WallTime, clock: WallClock): Held[] {
    const daemon = this.names.intern(onlyVendor);
    for (const h of this.vendorless) h.daemon = daemon;
    // Thousands of holders share a start minute: each distinct stamp is converted once.
    const utc = new Map<number, number>();
    const list = this.list, stamps = this.stamps;
    for (let i = 0; i < list.length; i++) {
      const stamp = stamps[i]!;
      let start = utc.get(stamp);
      if (start === undefined) utc.set(stamp, (start = yearlessToUtc(unpack(stamp), anchor, clock)));
      list[i]!.start = start;
    }
    return list;
  }
}

/** A stamp as one number: weekday, month, day, hour (each < 100 as printed), minute, second (or none). */
function pack(s: YearlessStamp): number {
  const day = s.weekday === undefined ? -1 : WEEKDAYS.indexOf(s.weekday.slice(0, 3).toLowerCase());
  const weekday = day < 0 ? NO_WEEKDAY : day;
  return ((((weekday * 100 + s.month) * 100 + s.day) * 100 + s.hour) * 100 + s.minute) * 101 + (s.second ?? NO_SECOND);
}

function unpack(n: number): YearlessStamp {
  const second = n % 101;
  let rest = (n - second) / 101;
  const minute = rest % 100; rest = (rest - minute) / 100;
  const hour = rest % 100; rest = (rest - hour) / 100;
  const day = rest % 100; rest = (rest - day) / 100;
  const month = rest % 100;
  const weekday = (rest - month) / 100;
  const stamp: YearlessStamp = { weekday: weekday === NO_WEEKDAY ? "?" : WEEKDAYS[weekday]!, month, day, hour, minute };
  if (second !== NO_SECOND) stamp.second = second;
  return stamp;
}
