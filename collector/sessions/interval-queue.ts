// The tracker's output, in order, waiting to be taken. A long stretch of one session is kept as a
// run [from, to) and cut into `cut_s` intervals only as records are taken, a batch at a time: a
// session open for years (a 2018 snapshot read today, a borrowed license) costs one entry here, not
// hundreds of thousands of records in memory at once.
import type { RecordBody, UsageData } from "./records.ts";

/** Everything of a usage record but its interval. */
export type UsageTemplate = Omit<UsageData, "start" | "end" | "final">;

interface Run { kind: "run"; usage: UsageTemplate; from: number; to: number; final: boolean }

/** Stretches shorter than this many intervals are cut at once (the common case, and cheaper). */
const EAGER_INTERVALS = 16;

export type QueuedOutput = RecordBody | Run;

export class IntervalQueue {
  private readonly cutMs: number;
  private items: QueuedOutput[] = [];
  private head = 0;
  private runs = 0;

  constructor(cutMs: number) {
    this.cutMs = cutMs;
  }

  get empty(): boolean {
    return this.head === this.items.length;
  }

  record(body: RecordBody): void {
    this.items.push(body);
  }

  /** The intervals of `usage` in [from, to), cut at multiples of cut_s; the last one `final` if asked. */
  usage(usage: UsageTemplate, from: number, to: number, final: boolean): void {
    if (to <= from) return;
    const cut = this.cutMs;
    if (to - from > EAGER_INTERVALS * cut) {
      this.items.push({ kind: "run", usage, from, to, final });
      this.runs++;
      return;
    }
    for (let a = from; a < to; ) {
      const b = Math.min(to, (Math.floor(a / cut) + 1) * cut);
      this.items.push({ kind: "usage", data: usageData(usage, a, b, final && b === to) });
      a = b;
    }
  }

  /** Up to `max` records, in order. */
  take(max = Infinity): RecordBody[] {
    const items = this.items;
    if (this.runs === 0 && this.head === 0 && items.length <= max) {
      this.items = [];
      return items as RecordBody[];
    }
    const out: RecordBody[] = [];
    const cut = this.cutMs;
    let i = this.head;
    while (i < items.length && out.length < max) {
      const item = items[i]!;
      if (item.kind !== "run") {
        out.push(item);
        i++;
        continue;
      }
      while (item.from < item.to && out.length < max) {
        const b = Math.min(item.to, (Math.floor(item.from / cut) + 1) * cut);
        out.push({ kind: "usage", data: usageData(item.usage, item.from, b, item.final && b === item.to) });
        item.from = b;
      }
      if (item.from >= item.to) {
        this.runs--;
        i++;
      }
    }
    if (i === items.length) {
      this.items = [];
      this.head = 0;
    } else this.head = i;
    return out;
  }

  /** What is still queued, as plain JSON (saved with the tracker when a step was taken in part). */
  save(): QueuedOutput[] {
    return structuredClone(this.items.slice(this.head));
  }

  restore(items: QueuedOutput[]): void {
    this.items = structuredClone(items);
    this.head = 0;
    this.runs = this.items.filter((i) => i.kind === "run").length;
  }
}

/** A usage record's data: optional fields only when present (DESIGN.md §4: omitted, never null), in the protocol's order. */
export function usageData(u: UsageTemplate, start: number, end: number, final: boolean): UsageData {
  const { source, daemon, feature, version, product, user, host, session, count } = u;
  if (version === undefined && product === undefined) return { source, daemon, feature, user, host, session, start, end, count, final };
  if (product === undefined) return { source, daemon, feature, version, user, host, session, start, end, count, final };
  if (version === undefined) return { source, daemon, feature, product, user, host, session, start, end, count, final };
  return { source, daemon, feature, version, product, user, host, session, start, end, count, final };
}
