// A FlexLM vendor daemon whose licenses are always in use, on an injected clock: `slots` licenses,
// each held for a random 6 h–4 days, checked in and checked out again after a short gap, with a
// TIMESTAMP line every 6 hours, written as the debug log lmgrd writes (FORMATS.md §2). Drives the
// long-haul tests: months of usage, produced as fast as the test advances its clock. Knows the
// truth: the license-seconds of every session it closed, per feature.
import { appendFileSync, writeFileSync } from "node:fs";
import { mulberry32 } from "../../shared/random/mulberry32.ts";

export interface BusyServerOptions {
  file: string;
  slots: number;
  seed: number;
  /** ms; whole seconds. */
  startAt: number;
  features?: string[];
  minHoldS?: number;
  maxHoldS?: number;
  maxGapS?: number;
}

interface Slot { index: number; feature: string; count: number; start: number; end: number; next: number; open: boolean }

const HOUR = 3600_000;

export class BusyLicenseServer {
  readonly truth = new Map<string, number>();
  sessionsClosed = 0;
  /** Intervals the closed sessions make when cut at every hour boundary and nowhere else. */
  hourlyIntervals = 0;
  private readonly opts: Required<BusyServerOptions>;
  private readonly random: () => number;
  private readonly slots: Slot[];
  private nextStamp: number;

  constructor(options: BusyServerOptions) {
    this.opts = { features: ["MATLAB", "SIMULINK", "Signal_Toolbox", "Compiler"], minHoldS: 6 * 3600, maxHoldS: 4 * 86_400, maxGapS: 1800, ...options };
    this.random = mulberry32(options.seed);
    this.nextStamp = options.startAt;
    const lines: string[] = [];
    this.stamp(options.startAt, lines);
    this.slots = Array.from({ length: options.slots }, (_, index) => {
      const slot: Slot = { index, feature: "", count: 1, start: 0, end: 0, next: options.startAt + this.between(0, 600) * 1000, open: false };
      return slot;
    });
    writeFileSync(options.file, lines.join(""));
  }

  /** Writes every line due up to `now` (ms), in time order. */
  advance(now: number): void {
    const lines: string[] = [];
    for (;;) {
      const slot = this.slots.reduce((a, b) => (b.next < a.next ? b : a));
      const t = Math.min(slot.next, this.nextStamp);
      if (t > now) break;
      if (this.nextStamp <= slot.next) {
        this.stamp(this.nextStamp, lines);
        continue;
      }
      if (slot.open) this.checkIn(slot, t, lines);
      else this.checkOut(slot, t, lines);
    }
    if (lines.length > 0) appendFileSync(this.opts.file, lines.join(""));
  }

  /** Every license checked in at `now` (a clean vendor-daemon shutdown). */
  shutdown(now: number): void {
    this.advance(now);
    const lines: string[] = [];
    for (const slot of this.slots) if (slot.open) this.checkIn(slot, now, lines);
    this.stamp(now, lines);
    appendFileSync(this.opts.file, lines.join(""));
  }

  /** Licenses held now. */
  held(): number {
    return this.slots.reduce((n, s) => n + (s.open ? s.count : 0), 0);
  }

  totalLicenseSeconds(): number {
    let total = 0;
    for (const v of this.truth.values()) total += v;
    return total;
  }

  private checkOut(slot: Slot, t: number, lines: string[]): void {
    slot.feature = this.opts.features[Math.floor(this.random() * this.opts.features.length)]!;
    slot.count = this.random() < 0.2 ? 2 + Math.floor(this.random() * 3) : 1;
    slot.start = t;
    slot.end = t + this.between(this.opts.minHoldS, this.opts.maxHoldS) * 1000;
    slot.next = slot.end;
    slot.open = true;
    lines.push(`${clock(t)} (MLM) OUT: "${slot.feature}" u${slot.index}@h${slot.index}  ${slot.count > 1 ? `(${slot.count} licenses)` : ""}`.trimEnd() + "  \n");
  }

  private checkIn(slot: Slot, t: number, lines: string[]): void {
    slot.open = false;
    this.truth.set(slot.feature, (this.truth.get(slot.feature) ?? 0) + ((t - slot.start) / 1000) * slot.count);
    this.sessionsClosed++;
    if (t > slot.start) this.hourlyIntervals += Math.floor((t - 1) / HOUR) - Math.floor(slot.start / HOUR) + 1;
    slot.next = t + this.between(1, this.opts.maxGapS) * 1000;
    lines.push(`${clock(t)} (MLM) IN: "${slot.feature}" u${slot.index}@h${slot.index}  ${slot.count > 1 ? `(${slot.count} licenses)` : ""}`.trimEnd() + "  \n");
  }

  private stamp(t: number, lines: string[]): void {
    const d = new Date(t);
    lines.push(`${clock(t)} (MLM) TIMESTAMP ${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}\n`);
    this.nextStamp = t + 6 * HOUR;
  }

  private between(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }
}

function clock(t: number): string {
  const d = new Date(t);
  return `${String(d.getUTCHours()).padStart(2, " ")}:${String(d.getUTCMinutes()).padStart(2, "0")}:${String(d.getUTCSeconds()).padStart(2, "0")}`;
}
