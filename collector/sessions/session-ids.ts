// Deterministic session ids: the first 32 hex digits of SHA-256(source|key|start|ordinal), where
// key is the holder's pairing key and ordinal tells apart sessions of one holder started in the
// same second — so parsing a file again gives the same ids, and the chain's coverage recognises them.
// The text hashed is written as UTF-8 straight into a reused buffer (id-text.ts): no string is
// built per session for the hash to flatten and encode again (~5 % of a debug-log parse), and a
// key's bytes are written once, then copied for each of its sessions.
import * as crypto from "node:crypto";
import type { HolderSlot } from "./holder-keys.ts";
import { IdTexts } from "./id-text.ts";

type Hash = (algorithm: string, data: string | Uint8Array, encoding: "hex") => string;
// One call instead of a Hash object per session (Node ≥ 20.12); older Node 20 builds fall back.
const oneShot = (crypto as unknown as { hash?: Hash }).hash;
const sha256Hex: (data: string | Uint8Array) => string = oneShot ? (data) => oneShot("sha256", data, "hex") : (data) => crypto.createHash("sha256").update(data).digest("hex");

/**
 * Entries in a chunk of the sessions started since the last `takeAdded` (two per session). One array
 * growing over a whole step (~10^5 entries) cost ~100 ns a push, each growth a copy in the large-object
 * space: on backfill's steps it doubled `ordinal`'s share of the tracker's thread (7 → 14 %), and the
 * parse worker, hashing ids ahead while the tracker is behind, paid for it too (docs/benchmarks.md).
 */
const ADDED_CHUNK = 4096;
/** How long ordinals are kept: sessions of one holder starting in the same second come close together. */
const KEEP_MS = 2 * 86_400_000;

/** Sessions as `[key, second, key, second, …]`, one pair per session (a second repeats for each
 *  session of that key started in it): the form of the same-second log (see `logged`). */
export type SessionStarts = Array<string | number>;

export class SessionIds {
  private readonly prefix: string;
  private readonly texts: IdTexts;
  /**
   * Per key, the start seconds of its sessions so far, ascending (one entry per session: sessions of
   * one second repeat it). A key's sessions mostly come in time order, so the next ordinal is found
   * at the end of its list; a start back in time (DST, a clock step) is looked up by bisection.
   */
  private starts = new Map<string, number[]>();
  /** Changes whenever lists may have left `starts`: the lists holder slots remember from before are stale. */
  private epoch = 0;
  private added = 0;
  /** Entries left by the last sweep: the next one comes after as many again (amortised O(1)). */
  private kept = 0;
  /** The latest time seen (ms). */
  private latest = -Infinity;
  /**
   * While the table is kept as a log (see `takeAdded`): the sessions started since the last call, in
   * chunks of ADDED_CHUNK entries (see there).
   */
  private additions: SessionStarts[] | undefined;
  private prepared: { start: number; ordinal: number; id: string } | undefined;

  constructor(source: string) {
    this.prefix = `${source}|`;
    this.texts = new IdTexts(this.prefix);
  }

  /**
   * The id of the next session of `key` starting at `start` (ms, whole seconds); `latest` is the latest
   * time seen. `holder`: the key's slot, where its list of starts is remembered.
   */
  next(key: string, start: number, latest: number, holder?: HolderSlot): string {
    const ordinal = this.ordinal(key, start, latest, holder);
    const prepared = this.prepared;
    if (prepared !== undefined) {
      this.prepared = undefined;
      if (prepared.start === start && prepared.ordinal === ordinal) return prepared.id;
    }
    return this.idOf(key, start, ordinal);
  }

  /** The ordinal of the next session of `key` starting at `start`, counted (the bookkeeping of `next` without the hash). */
  ordinal(key: string, start: number, latest: number, holder?: HolderSlot): number {
    if (latest > this.latest) this.latest = latest;
    const additions = this.additions;
    if (additions !== undefined) {
      let last = additions[additions.length - 1];
      if (last === undefined || last.length >= ADDED_CHUNK) additions.push((last = []));
      last.push(key, start / 1000);
    }
    return this.nextOrdinal(start / 1000, key, holder);
  }

  /** The id of session `ordinal` of `key` starting at `start`. */
  idOf(key: string, start: number, ordinal: number): string {
    const text = this.texts.of(key, start / 1000, ordinal) ?? `${this.prefix}${key}|${msText(start)}|${ordinal}`;
    return sha256Hex(text).slice(0, 32);
  }

  /**
   * The id the next session will have if it starts at `start` with this ordinal, hashed ahead by the
   * parse worker (line-parse-worker.ts): `next` uses it when start and ordinal agree, else hashes
   * itself. Dropped by `next` or `unprepare`, so it never outlives the event it came with.
   */
  prepare(start: number, ordinal: number, id: string): void {
    this.prepared = { start, ordinal, id };
  }

  unprepare(): void {
    this.prepared = undefined;
  }

  /**
   * As plain JSON, per key the start seconds it has sessions of and how many: `{ key: [second, count,
   * second, count, …] }` — each key written once however many seconds it started in.
   */
  save(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    const keepAfter = this.keepAfter(); // what a sweep would drop now is not worth saving
    for (const [key, list] of this.starts) {
      const pairs: number[] = [];
      for (let i = firstAtOrAfter(list, keepAfter); i < list.length; i++) {
        if (pairs.length > 0 && pairs[pairs.length - 2] === list[i]) pairs[pairs.length - 1]!++;
        else pairs.push(list[i]!, 1);
      }
      if (pairs.length > 0) out[key] = pairs;
    }
    return out;
  }

  /**
   * For a table kept as an append-only log beside the state rather than saved whole (the source
   * journal's additions log): the sessions started since the last call, or null when this table was
   * not restored from such a log nor asked before — then the log must start afresh from `table()`.
   * Either way the sessions started from now on are kept for the next call.
   */
  takeAdded(): SessionStarts | null {
    const added = this.additions;
    this.additions = [];
    return added === undefined ? null : added.length === 1 ? added[0]! : ([] as SessionStarts).concat(...added);
  }

  /** The whole table (what `save()` keeps) as a log's first line. */
  table(): SessionStarts {
    const out: SessionStarts = [];
    const keepAfter = this.keepAfter();
    for (const [key, list] of this.starts) for (let i = firstAtOrAfter(list, keepAfter); i < list.length; i++) out.push(key, list[i]!);
    return out;
  }

  /** Start seconds before this one are left out of a save (what a sweep would drop now). */
  since(): number {
    return this.keepAfter();
  }

  /**
   * From a log of `table()` and `takeAdded()` lines (JSON, one per line), keeping the starts at or after
   * second `since` (the `since()` of the save it goes with): the table a whole save would have kept.
   * The sessions started from now on are kept for the next `takeAdded()`.
   */
  restoreLogged(log: string, since: number): void {
    this.starts = new Map();
    this.epoch++;
    for (const line of log.split("\n")) {
      if (line === "") continue;
      const pairs = JSON.parse(line) as SessionStarts;
      for (let i = 0; i + 1 < pairs.length; i += 2) if ((pairs[i + 1] as number) >= since) this.set(pairs[i] as string, pairs[i + 1] as number, 1);
    }
    for (const list of this.starts.values()) list.sort((a, b) => a - b);
    this.additions = [];
  }

  /** From `save()`'s form, or the older `{ "key|startMs": count }` one (a state file of an earlier version). */
  restore(saved: Record<string, number[]> | undefined, older?: Record<string, number>): void {
    this.starts = new Map();
    this.epoch++;
    for (const [key, list] of Object.entries(saved ?? {})) for (let i = 0; i + 1 < list.length; i += 2) this.set(key, list[i]!, list[i + 1]!);
    for (const [k, n] of Object.entries(older ?? {})) {
      const bar = k.lastIndexOf("|");
      this.set(k.slice(0, bar), Number(k.slice(bar + 1)) / 1000, n);
    }
    for (const list of this.starts.values()) list.sort((a, b) => a - b);
  }

  private set(key: string, start: number, n: number): void {
    let list = this.starts.get(key);
    if (list === undefined) this.starts.set(key, (list = []));
    for (let i = 0; i < n; i++) list.push(start);
  }

  /** How many sessions of `key` started in second `start` before this one (and this one counted). */
  private nextOrdinal(start: number, key: string, holder: HolderSlot | undefined): number {
    let list: number[] | undefined;
    if (holder !== undefined && holder.startsEpoch === this.epoch && holder.starts !== undefined) list = holder.starts;
    else {
      list = this.starts.get(key);
      if (list === undefined) this.starts.set(key, (list = []));
      if (holder !== undefined) {
        holder.starts = list;
        holder.startsEpoch = this.epoch;
      }
    }
    const n = list.length;
    let ordinal = 0;
    if (n === 0 || start >= list[n - 1]!) {
      for (let i = n - 1; i >= 0 && list[i] === start; i--) ordinal++;
      list.push(start);
    } else { // back in time: after the sessions of that second so far
      const at = firstAtOrAfter(list, start + 1);
      for (let i = at - 1; i >= 0 && list[i] === start; i--) ordinal++;
      list.splice(at, 0, start);
    }
    this.sweep();
    return ordinal;
  }

  /** Ordinals only tell apart sessions started in the same second; those of seconds long past can go. */
  private sweep(): void {
    if (++this.added < Math.max(10_000, this.kept)) return;
    this.added = 0;
    this.kept = 0;
    this.epoch++;
    const keepAfter = this.keepAfter();
    for (const [key, list] of this.starts) {
      const drop = firstAtOrAfter(list, keepAfter);
      if (drop === list.length) this.starts.delete(key);
      else {
        if (drop > 0) list.splice(0, drop);
        this.kept += list.length;
      }
    }
  }

  private keepAfter(): number {
    return (this.latest - KEEP_MS) / 1000;
  }
}

/** The first index of ascending `list` whose value is ≥ `value`. */
function firstAtOrAfter(list: number[], value: number): number {
  let lo = 0, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `String(ms)` for whole seconds without converting a large double: seconds are a small integer. */
function msText(ms: number): string {
  const seconds = ms / 1000;
  return seconds > 0 && seconds < 2 ** 31 && seconds === Math.floor(seconds) ? `${seconds}000` : String(ms);
}
