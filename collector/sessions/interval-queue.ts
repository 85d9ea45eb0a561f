// The tracker's output, in order, waiting to be taken. A long stretch of one session is kept as a
// run [from, to) and cut into `cut_s` intervals only as records are taken, a batch at a time: a
// session open for years (a 2018 snapshot read today, a borrowed license) costs one entry here, not
// hundreds of thousands of records in memory at once.
import type { RecordBody, UsageData } from "./records.ts";

/** Who holds what in a session: everything of its usage records but the source and the interval (an open session is one). */
export interface SessionFields { id: string; daemon: string; feature: string; version?: string; product?: string; user: string; host: string; count: number }

interface Run { kind: "run"; session: SessionFields; from: number; to: number; final: boolean }

/** Stretches shorter than this many intervals are cut at once (the common case, and cheaper). */
const EAGER_INTERVALS = 16;

export type QueuedOutput = RecordBody | Run;

export class IntervalQueue {
  private readonly source: string;
  private readonly cutMs: number;
  private items: QueuedOutput[] = [];
  private head = 0;
  private runs = 0;

  constructor(source: string, cutMs: number) {
    this.source = source;
    this.cutMs = cutMs;
  }

  get empty(): boolean {
    return this.head === this.items.length;
  }

  record(body: RecordBody): void {
    this.items.push(body);
  }

  /**
   * The intervals of `session` in [from, to), cut at multiples of cut_s; the last one `final` if
   * asked. `lazy`: cut them only when taken (for the many sessions a cut or the end emits at once).
   */
  usage(session: SessionFields, from: number, to: number, final: boolean, lazy = false): void {
    if (to <= from) return;
    const cut = this.cutMs;
    if (lazy || to - from > EAGER_INTERVALS * cut) {
      this.items.push({ kind: "run", session: fieldsOf(session), from, to, final });
      this.runs++;
      return;
    }
    for (let a = from; a < to; ) {
      const b = Math.min(to, (Math.floor(a / cut) + 1) * cut);
      this.items.push({ kind: "usage", data: usageData(this.source, session, a, b, final && b === to) });
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
        out.push({ kind: "usage", data: usageData(this.source, item.session, item.from, b, item.final && b === item.to) });
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
export function usageData(source: string, s: SessionFields, start: number, end: number, final: boolean): UsageData {
  const { daemon, feature, version, product, user, host, id: session, count } = s;
  if (version === undefined && product === undefined) return { source, daemon, feature, user, host, session, start, end, count, final };
  if (product === undefined) return { source, daemon, feature, version, user, host, session, start, end, count, final };
  if (version === undefined) return { source, daemon, feature, product, user, host, session, start, end, count, final };
  return { source, daemon, feature, version, product, user, host, session, start, end, count, final };
}

/** Just the fields a run needs (a session object also carries its bookkeeping). */
function fieldsOf(s: SessionFields): SessionFields {
  const f: SessionFields = { id: s.id, daemon: s.daemon, feature: s.feature, user: s.user, host: s.host, count: s.count };
  if (s.version !== undefined) f.version = s.version;
  if (s.product !== undefined) f.product = s.product;
  return f;
}
