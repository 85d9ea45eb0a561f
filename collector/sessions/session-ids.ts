// Deterministic session ids: the first 32 hex digits of SHA-256(source|key|start|ordinal), where
// key is the holder's pairing key and ordinal tells apart sessions of one holder started in the
// same second — so parsing a file again gives the same ids, and the chain's coverage recognises them.
import * as crypto from "node:crypto";

type Hash = (algorithm: string, data: string, encoding: "hex") => string;
// One call instead of a Hash object per session (Node ≥ 20.12); older Node 20 builds fall back.
const oneShot = (crypto as unknown as { hash?: Hash }).hash;
const sha256Hex: (data: string) => string = oneShot ? (data) => oneShot("sha256", data, "hex") : (data) => crypto.createHash("sha256").update(data).digest("hex");

/** How long ordinals are kept: sessions of one holder starting in the same second come close together. */
const KEEP_MS = 2 * 86_400_000;

export class SessionIds {
  private readonly prefix: string;
  /**
   * Sessions started so far per start second and key. Most seconds see one session: then the entry
   * is just its key. Keyed by whole seconds (small integers hash fast; ms since the epoch do not).
   */
  private ordinals = new Map<number, string | Map<string, number>>();
  private added = 0;
  /** Entries left by the last prune: the next one comes after as many again (amortised O(1)). */
  private kept = 0;
  /** The latest time seen (ms). */
  private latest = -Infinity;

  constructor(source: string) {
    this.prefix = `${source}|`;
  }

  /** The id of the next session of `key` starting at `start` (ms, whole seconds); `latest` is the latest time seen. */
  next(key: string, start: number, latest: number): string {
    if (latest > this.latest) this.latest = latest;
    const ordinal = this.nextOrdinal(start / 1000, key, latest);
    return sha256Hex(`${this.prefix}${key}|${msText(start)}|${ordinal}`).slice(0, 32);
  }

  /**
   * As plain JSON, per key the start seconds it has sessions of and how many: `{ key: [second, count,
   * second, count, …] }` — each key written once however many seconds it started in.
   */
  save(): Record<string, number[]> {
    const out: Record<string, number[]> = {};
    const add = (key: string, start: number, n: number) => {
      const list = out[key];
      if (list === undefined) out[key] = [start, n];
      else list.push(start, n);
    };
    const keepAfter = (this.latest - KEEP_MS) / 1000; // what a prune would drop now is not worth saving
    for (const [start, keys] of this.ordinals) {
      if (start < keepAfter) continue;
      if (typeof keys === "string") add(keys, start, 1);
      else for (const [key, n] of keys) add(key, start, n);
    }
    return out;
  }

  /** From `save()`'s form, or the older `{ "key|startMs": count }` one (a state file of an earlier version). */
  restore(saved: Record<string, number[]> | undefined, older?: Record<string, number>): void {
    this.ordinals = new Map();
    for (const [key, list] of Object.entries(saved ?? {})) for (let i = 0; i + 1 < list.length; i += 2) this.set(list[i]!, key, list[i + 1]!);
    for (const [k, n] of Object.entries(older ?? {})) {
      const bar = k.lastIndexOf("|");
      this.set(Number(k.slice(bar + 1)) / 1000, k.slice(0, bar), n);
    }
  }

  /** How many sessions of `key` started in second `start` (save/restore: one is kept as just the key). */
  private set(start: number, key: string, n: number): void {
    const keys = this.ordinals.get(start);
    if (keys === undefined && n === 1) this.ordinals.set(start, key);
    else {
      const map = keys instanceof Map ? keys : new Map(keys === undefined ? [] : [[keys, 1]]);
      this.ordinals.set(start, map.set(key, n));
    }
  }

  private nextOrdinal(start: number, key: string, latest: number): number {
    const sameSecond = this.ordinals.get(start);
    if (sameSecond === undefined) {
      this.prune(latest);
      this.ordinals.set(start, key);
      return 0;
    }
    if (typeof sameSecond === "string") {
      const ordinal = sameSecond === key ? 1 : 0;
      this.ordinals.set(start, new Map([[sameSecond, 1], [key, ordinal + 1]]));
      return ordinal;
    }
    const ordinal = sameSecond.get(key) ?? 0;
    sameSecond.set(key, ordinal + 1);
    return ordinal;
  }

  /** Ordinals only tell apart sessions started in the same second; those of seconds long past can go. */
  private prune(latest: number): void {
    if (++this.added < Math.max(10_000, this.kept)) return;
    this.added = 0;
    const keepAfter = (latest - KEEP_MS) / 1000;
    for (const start of this.ordinals.keys()) if (start < keepAfter) this.ordinals.delete(start);
    this.kept = this.ordinals.size;
  }
}

/** `String(ms)` for whole seconds without converting a large double: seconds are a small integer. */
function msText(ms: number): string {
  const seconds = ms / 1000;
  return seconds > 0 && seconds < 2 ** 31 && seconds === Math.floor(seconds) ? `${seconds}000` : String(ms);
}
