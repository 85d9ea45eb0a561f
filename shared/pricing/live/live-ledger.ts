// The live ledger: the incremental counterpart of `ledgerFromIntervals` + `foldLedger`, kept in a
// LiveStore. Applying intervals costs O(their pieces): each piece moves its bucket by its delta, and
// only the periods whose buckets moved are folded again — from the first one, forward, until the
// grant state carried out of a period is the one already stored (nothing later can change then).
// An out-of-order interval re-rates its session only. A change of terms (plan version, grant) that
// moves rates or segments of usage already rated starts a re-rating job, run in bounded chunks
// (`rerateChunk`); until it ends, figures mix old and new rating and say so (`meta.job`).
// Draws follow each session's use (use-windows.ts): a new or re-rated session re-windows its key only.
import { burnPeriod, carriedState, type GrantState } from "../burn.ts";
import type { UsageInterval } from "../input.ts";
import { bucketKey, type BucketKey, type UsageBucket } from "../ledger.ts";
import { periodByIndex, periodIndexAt } from "../periods.ts";
import { useOf } from "../draws.ts";
import { compareRefs, firstInterval, rateNextInterval, rateSession, type RatedPiece, type SessionCursor } from "../rate.ts";
import type { PricingTerms } from "../terms.ts";
import type { LiveMeta, LiveStore, RerateJob } from "./store.ts";
import { replaceUse } from "./use-windows.ts";

interface Delta extends BucketKey { license_ms: number; billed_ms: number; units: bigint; draws: number; pieces: number; rated: boolean | undefined }

/** Intervals visited and intervals re-rated per chunk of a re-rating job. */
export const RERATE_VISITS = 500;
export const RERATE_WORK = 4000;

export class LiveLedger {
  readonly store: LiveStore;
  #terms: PricingTerms;
  #meta: LiveMeta;
  #deltas = new Map<string, Delta>();
  #pending = new Map<string, SessionCursor>();
  /** Bumped by every change; caches of figures key on it. */
  version = 0;
  /** The first period whose buckets or fold state changed since `takeChangedFrom`. */
  #changedFrom = Infinity;

  constructor(store: LiveStore, terms: PricingTerms) {
    this.store = store;
    this.#terms = terms;
    this.#meta = store.meta() ?? { terms_rev: 0, adjust_from: 0, job: null };
  }

  get terms(): PricingTerms { return this.#terms; }
  get meta(): Readonly<LiveMeta> { return this.#meta; }

  takeChangedFrom(): number {
    const from = this.#changedFrom;
    this.#changedFrom = Infinity;
    return from;
  }

  /** Rates new intervals (a batch); returns the refs whose units changed. */
  add(intervals: UsageInterval[]): Set<string> {
    const changed = new Set<string>();
    const job = this.#meta.job;
    for (const iv of intervals) {
      this.store.putInterval(iv);
      if (job && overlaps(iv, job) && (job.after === null || iv.end > job.after.end || (iv.end === job.after.end && compareRefs(iv.ref, job.after.ref) > 0))) job.total++;
      const pending = this.#pending.get(iv.session);
      const state = pending ? undefined : this.store.session(iv.session);
      if (state && job && state.rev < job.rev) {
        this.#rerateSession(iv.session, changed);
        continue;
      }
      const cursor = pending ?? state?.cursor ?? undefined;
      const next = rateNextInterval(this.#terms, cursor, iv);
      if (next) {
        for (const p of next.pieces) this.#move(p, 1);
        this.store.putPieces(next.pieces);
        this.#pending.set(iv.session, next.cursor);
        changed.add(iv.ref);
        // A session's first interval is its use; later ones (in order) leave it as it is.
        if (!cursor) {
          const use = useOf(this.#terms, iv);
          if (use) replaceUse(this.store, this.#terms, iv.session, use, (p, sign) => { this.#move(p, sign); changed.add(p.ref); });
        }
      } else {
        this.#rerateSession(iv.session, changed);
      }
    }
    this.#settle();
    return changed;
  }

  /** Takes intervals out (a superseded fork branch); their sessions are re-rated without them. */
  remove(intervals: UsageInterval[]): Set<string> {
    const changed = new Set<string>();
    const bySession = new Map<string, string[]>();
    for (const iv of intervals) {
      const refs = bySession.get(iv.session);
      if (refs) refs.push(iv.ref); else bySession.set(iv.session, [iv.ref]);
    }
    for (const [session, refs] of bySession) this.#rerateSession(session, changed, refs);
    this.#settle();
    return changed;
  }

  /**
   * New terms (a plan version or grant was added). `rerate` is the span whose rating they change
   * (usage there is re-rated by a job); `foldFrom` the first instant whose burn they change.
   */
  termsChanged(terms: PricingTerms, rerate: { from: number; to: number | null } | null, foldFrom: number): void {
    this.#terms = terms;
    if (rerate && this.store.countOverlapping(rerate.from, rerate.to) > 0) this.#startJob(rerate.from, rerate.to);
    const from = Math.max(0, periodIndexAt(terms.contract, foldFrom));
    if (from <= this.store.lastFrozen()) this.#meta.adjust_from = Math.min(this.#meta.adjust_from, from);
    this.#refold(from, Infinity);
    // New terms may price any period differently (even one before the contract start): drop every fold.
    this.#changed(-Infinity);
    this.store.saveMeta(this.#meta);
  }

  /** A period was closed: from now on its lines are compared with what it carried from `adjustFrom` on. */
  closed(adjustFrom: number): void {
    this.#meta.adjust_from = adjustFrom;
    this.store.saveMeta(this.#meta);
    this.version++;
  }

  /** One bounded chunk of the re-rating job; returns the refs whose units changed. */
  rerateChunk(maxVisits = RERATE_VISITS, maxWork = RERATE_WORK): Set<string> {
    const changed = new Set<string>();
    const job = this.#meta.job;
    if (!job) return changed;
    const visits = this.store.overlapping(job.from, job.to, job.after, maxVisits);
    let work = 0;
    let seen = 0;
    for (const iv of visits) {
      seen++;
      job.after = { end: iv.end, ref: iv.ref };
      const state = this.store.session(iv.session);
      if (!state || state.rev < job.rev) work += this.#rerateSession(iv.session, changed);
      if (work >= maxWork) break;
    }
    job.done += seen;
    if (seen === visits.length && visits.length < maxVisits) this.#meta.job = null;
    this.#settle();
    return changed;
  }

  #startJob(from: number, to: number | null): void {
    const old = this.#meta.job;
    if (old) {
      from = Math.min(from, old.from);
      to = to === null || old.to === null ? null : Math.max(to, old.to);
    }
    this.#meta.terms_rev++;
    const job: RerateJob = { rev: this.#meta.terms_rev, from, to, after: null, done: 0, total: this.store.countOverlapping(from, to) };
    this.#meta.job = job;
  }

  /** Re-rates a session from its stored intervals (less `drop`); returns how many intervals it rated. */
  #rerateSession(session: string, changed: Set<string>, drop: string[] = []): number {
    this.#pending.delete(session);
    for (const p of this.store.sessionPieces(session)) { this.#move(p, -1); changed.add(p.ref); }
    this.store.deleteSessionPieces(session);
    for (const ref of drop) { this.store.deleteInterval(ref); changed.delete(ref); }
    const intervals = this.store.sessionIntervals(session);
    const rated = rateSession(this.#terms, intervals);
    for (const p of rated.pieces) this.#move(p, 1);
    this.store.putPieces(rated.pieces);
    for (const iv of intervals) changed.add(iv.ref);
    this.store.saveSession(session, { cursor: rated.cursor ?? null, rev: this.#meta.terms_rev });
    const first = firstInterval(intervals);
    replaceUse(this.store, this.#terms, session, first && useOf(this.#terms, first), (p, sign) => { this.#move(p, sign); changed.add(p.ref); });
    return intervals.length;
  }

  #move(p: RatedPiece, sign: 1 | -1): void {
    const key = bucketKey(p);
    let d = this.#deltas.get(key);
    if (!d) {
      d = { period: p.period, segment: p.segment, arrival: p.arrival, feature: p.feature, license_ms: 0, billed_ms: 0, units: 0n, draws: 0, pieces: 0, rated: undefined };
      this.#deltas.set(key, d);
    }
    d.license_ms += sign * p.license_ms;
    d.billed_ms += sign * p.billed_ms;
    d.units += sign > 0 ? p.units : -p.units;
    d.draws += sign * p.draws;
    d.pieces += sign;
    if (sign > 0) d.rated = p.rated;
  }

  /** Writes cursors and bucket deltas, then folds the periods they moved. */
  #settle(): void {
    for (const [session, cursor] of this.#pending) this.store.saveSession(session, { cursor, rev: this.#meta.terms_rev });
    this.#pending.clear();
    let first = Infinity, last = -Infinity;
    const lastFrozen = this.store.lastFrozen();
    const emptied = new Set<number>();
    for (const d of this.#deltas.values()) {
      // A delta that moved nothing may still change whether its bucket is rated (a plan version that
      // no longer rates a feature whose pieces there were worth 0 units anyway): that is written too.
      const moved = d.pieces !== 0 || d.license_ms !== 0 || d.billed_ms !== 0 || d.units !== 0n || d.draws !== 0;
      if (!moved && d.rated === undefined) continue;
      const stored = this.store.bucket(d);
      if (!moved && (stored === undefined || stored.rated === d.rated)) continue;
      const b: UsageBucket = stored ?? { period: d.period, segment: d.segment, arrival: d.arrival, feature: d.feature, license_ms: 0, billed_ms: 0, units: 0n, rated: d.rated ?? true, draws: 0, pieces: 0 };
      b.license_ms += d.license_ms; b.billed_ms += d.billed_ms; b.units += d.units; b.draws += d.draws; b.pieces += d.pieces;
      if (d.rated !== undefined) b.rated = d.rated;
      if (b.pieces <= 0) { this.store.deleteBucket(d); emptied.add(d.period); } else this.store.saveBucket(b);
      first = Math.min(first, d.period); last = Math.max(last, d.period);
      // A closed period's lines move: the first open statement compares it with what it carried.
      if (d.period <= lastFrozen && d.arrival <= lastFrozen + 1) this.#meta.adjust_from = Math.min(this.#meta.adjust_from, d.period);
    }
    this.#deltas.clear();
    for (const k of emptied) if (this.store.nextBucketPeriod(k - 1) !== k) this.store.deleteFoldEnd(k);
    if (first !== Infinity) {
      this.#refold(first, last);
      this.#changed(first);
    }
    this.store.saveMeta(this.#meta);
  }

  /** Folds stored periods from `from` (cutoff ∞), at least through `through`, until the state settles. */
  #refold(from: number, through: number): void {
    let state: GrantState = this.store.foldEndBefore(from) ?? new Map();
    for (let k = this.store.nextBucketPeriod(from - 1); k !== undefined; k = this.store.nextBucketPeriod(k)) {
      const period = periodByIndex(this.#terms.contract, k);
      const { remaining } = burnPeriod(this.#terms, period, state, this.store.periodBuckets(k));
      const end = carriedState(this.#terms, period, remaining);
      const old = this.store.foldEnd(k);
      const same = old !== undefined && sameState(old, end);
      if (!same) this.store.saveFoldEnd(k, end);
      if (k >= through && same) break;
      state = end;
    }
  }

  #changed(from: number): void {
    this.version++;
    this.#changedFrom = Math.min(this.#changedFrom, from);
  }
}

function overlaps(iv: UsageInterval, span: { from: number; to: number | null }): boolean {
  return iv.end > span.from && (span.to === null || iv.start < span.to);
}

export function sameState(a: GrantState, b: GrantState): boolean {
  if (a.size !== b.size) return false;
  for (const [id, v] of a) if (b.get(id) !== v) return false;
  return true;
}
