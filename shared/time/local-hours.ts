// Hours on a contract's wall clock: the buckets of the usage rollups (DESIGN.md §7). A bucket is
// named by the UTC instant at which a local hour starts, so a zone 30 or 45 minutes off UTC
// (India, Nepal, Adelaide) still has buckets that never straddle a local midnight, and a day is
// always a whole number of buckets. Offsets are looked up through Intl (zoned.ts) and memoised
// per 15-minute slot: every modern zone changes its offset only on a quarter hour.
import { wallTimeAt, zoneOffsetMs } from "./zoned.ts";

const HOUR_MS = 3_600_000;
const SLOT_MS = 900_000;

export class LocalHours {
  readonly zone: string;
  readonly #offsets = new Map<number, number>();
  readonly #days = new Map<number, string>();

  constructor(zone: string) {
    this.zone = zone;
  }

  /** The start of the local hour containing `t`. */
  hourStart(t: number): number {
    const offset = this.#offset(t);
    return Math.floor((t + offset) / HOUR_MS) * HOUR_MS - offset;
  }

  /** Whether `t` is the first instant of a local hour. */
  isHourStart(t: number): boolean {
    return this.hourStart(t) === t;
  }

  /** [start, end) cut at local hour starts: one piece per hour it touches. */
  pieces(start: number, end: number): Array<{ hour: number; ms: number }> {
    const out: Array<{ hour: number; ms: number }> = [];
    for (let a = start; a < end;) {
      const hour = this.hourStart(a);
      const b = Math.min(end, hour + HOUR_MS);
      out.push({ hour, ms: b - a });
      a = b;
    }
    return out;
  }

  /** The local date (YYYY-MM-DD) of the hour starting at `hour`. */
  day(hour: number): string {
    let d = this.#days.get(hour);
    if (d === undefined) {
      const w = wallTimeAt(hour, this.zone);
      d = `${String(w.year).padStart(4, "0")}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
      this.#days.set(hour, d);
    }
    return d;
  }

  #offset(t: number): number {
    const slot = Math.floor(t / SLOT_MS);
    let o = this.#offsets.get(slot);
    if (o === undefined) {
      o = zoneOffsetMs(slot * SLOT_MS, this.zone);
      this.#offsets.set(slot, o);
    }
    return o;
  }
}
