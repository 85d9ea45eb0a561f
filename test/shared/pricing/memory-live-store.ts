// A LiveStore over Maps, so the live ledger's logic runs in Node property tests without a runtime
// (the ContractDO's SQLite store is tested in workerd). It keeps the same rows the DO keeps and
// answers each query by scanning them — fine at test sizes.
import type { GrantState, LineValue, PricedLine, RatedPiece, Statement, UsageBucket, UsageInterval, BucketKey } from "../../../shared/pricing/index.ts";
import { bucketKey, compareRefs } from "../../../shared/pricing/index.ts";
import type { Draw, LiveMeta, LiveStore, SessionState, TracePiece, Use, UsePosition } from "../../../shared/pricing/index.ts";
import { usePosition } from "../../../shared/pricing/index.ts";

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryLiveStore implements LiveStore {
  #meta: LiveMeta | undefined;
  sessions = new Map<string, SessionState>();
  intervals = new Map<string, UsageInterval>();
  pieces = new Map<string, RatedPiece[]>();
  buckets = new Map<string, UsageBucket>();
  folds = new Map<number, GrantState>();
  frozenStatements = new Map<number, { statement: Statement; lines: PricedLine[] }>();
  carriedLines = new Map<number, Map<string, LineValue>>();
  uses = new Map<string, Use>();
  draws = new Map<string, Draw>();

  meta() { return this.#meta && clone(this.#meta); }
  saveMeta(meta: LiveMeta) { this.#meta = clone(meta); }
  session(key: string) { const s = this.sessions.get(key); return s && clone(s); }
  saveSession(key: string, state: SessionState) { this.sessions.set(key, clone(state)); }
  putInterval(iv: UsageInterval) { this.intervals.set(iv.ref, { ...iv }); }
  deleteInterval(ref: string) { this.intervals.delete(ref); this.pieces.delete(ref); }
  sessionIntervals(key: string) { return [...this.intervals.values()].filter((i) => i.session === key).map((i) => ({ ...i })); }
  sessionPieces(key: string) { return this.sessionIntervals(key).flatMap((i) => (this.pieces.get(i.ref) ?? []).map((p) => ({ ...p }))); }
  putPieces(pieces: RatedPiece[]) {
    for (const p of pieces) this.pieces.set(p.ref, [...(this.pieces.get(p.ref) ?? []).filter((q) => q.start !== p.start), { ...p }]);
  }
  deleteSessionPieces(key: string) { for (const i of this.sessionIntervals(key)) this.pieces.delete(i.ref); }
  use(session: string) { const u = this.uses.get(session); return u && { ...u }; }
  putUse(use: Use) { this.uses.set(use.session, { ...use }); }
  deleteUse(session: string) { this.uses.delete(session); }
  nextUse(key: string, at: UsePosition, inclusive: boolean) {
    const u = [...this.uses.values()].filter((x) => x.key === key && (inclusive ? usePosition(x, at) >= 0 : usePosition(x, at) > 0)).sort(usePosition)[0];
    return u && { ...u };
  }
  #keyDraws(key: string) { return [...this.draws.values()].filter((d) => d.key === key).sort((a, b) => usePosition(a.piece, b.piece)); }
  prevDraw(key: string, at: UsePosition) { const d = this.#keyDraws(key).filter((x) => usePosition(x.piece, at) < 0).pop(); return d && clone(d); }
  nextDraw(key: string, at: UsePosition, inclusive: boolean) {
    const d = this.#keyDraws(key).find((x) => (inclusive ? usePosition(x.piece, at) >= 0 : usePosition(x.piece, at) > 0));
    return d && clone(d);
  }
  putDraw(draw: Draw) { this.draws.set(`${draw.key}|${draw.piece.start}|${draw.piece.ref}`, clone(draw)); }
  deleteDraw(draw: Draw) { this.draws.delete(`${draw.key}|${draw.piece.start}|${draw.piece.ref}`); }
  *periodDraws(period: number, feature: string, cutoff: number, after: UsePosition | null): Iterable<TracePiece> {
    const list = [...this.draws.values()].map((d) => d.piece).filter((p) => p.period === period && p.feature === feature && p.arrival <= cutoff)
      .sort((a, b) => usePosition(a, b));
    for (const p of list) if (!after || usePosition(p, after) > 0) yield { ref: p.ref, start: p.start, units: p.units, arrival: p.arrival };
  }
  bucket(key: BucketKey) { const b = this.buckets.get(bucketKey(key)); return b && { ...b }; }
  saveBucket(b: UsageBucket) { this.buckets.set(bucketKey(b), { ...b }); }
  deleteBucket(key: BucketKey) { this.buckets.delete(bucketKey(key)); }
  periodBuckets(period: number) {
    return [...this.buckets.values()].filter((b) => b.period === period).map((b) => ({ ...b }))
      .sort((a, b) => a.segment - b.segment || a.arrival - b.arrival || (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
  }
  #periods() { return [...new Set([...this.buckets.values()].map((b) => b.period))].sort((a, b) => a - b); }
  nextBucketPeriod(after: number) { return this.#periods().find((p) => p > after); }
  prevBucketPeriod(before: number) { return this.#periods().filter((p) => p < before).pop(); }
  firstLatePeriod(after: number, upTo: number, before: number) {
    const ps = [...this.buckets.values()].filter((b) => b.arrival > after && b.arrival <= upTo && b.period < before).map((b) => b.period);
    return ps.length === 0 ? undefined : Math.min(...ps);
  }
  foldEnd(period: number) { const f = this.folds.get(period); return f && new Map(f); }
  foldEndBefore(period: number) {
    const k = [...this.folds.keys()].filter((p) => p < period).sort((a, b) => b - a)[0];
    return k === undefined ? undefined : new Map(this.folds.get(k)!);
  }
  saveFoldEnd(period: number, state: GrantState) { this.folds.set(period, new Map(state)); }
  deleteFoldEnd(period: number) { this.folds.delete(period); }
  lastFrozen() { return Math.max(-1, ...this.frozenStatements.keys()); }
  frozen(index: number) { const f = this.frozenStatements.get(index); return f && clone(f.statement); }
  saveFrozen(index: number, statement: Statement, lines: PricedLine[]) { this.frozenStatements.set(index, clone({ statement, lines })); }
  frozenLine(index: number, lineId: string) { const l = this.frozenStatements.get(index)?.lines.find((x) => x.id === lineId); return l && clone(l); }
  carried(period: number) { return clone(this.carriedLines.get(period) ?? new Map()); }
  addCarried(period: number, lineId: string, value: LineValue) {
    const lines = this.carriedLines.get(period) ?? new Map<string, LineValue>();
    const old = lines.get(lineId);
    const line = { description: value.line.description, ...(value.line.tier !== undefined ? { tier: value.line.tier } : {}), ...(value.line.unit_price !== undefined ? { unit_price: value.line.unit_price } : {}) };
    lines.set(lineId, old ? { ...old, quantity_micro: old.quantity_micro + value.quantity_micro, amount_minor: old.amount_minor + value.amount_minor } : { quantity_micro: value.quantity_micro, amount_minor: value.amount_minor, line });
    this.carriedLines.set(period, lines);
  }
  #overlapping(from: number, to: number | null) {
    return [...this.intervals.values()].filter((i) => i.end > from && (to === null || i.start < to))
      .sort((a, b) => a.end - b.end || compareRefs(a.ref, b.ref));
  }
  countOverlapping(from: number, to: number | null) { return this.#overlapping(from, to).length; }
  overlapping(from: number, to: number | null, after: { end: number; ref: string } | null, limit: number) {
    return this.#overlapping(from, to).filter((i) => after === null || i.end > after.end || (i.end === after.end && compareRefs(i.ref, after.ref) > 0)).slice(0, limit).map((i) => ({ ...i }));
  }
  *segmentPieces(segment: number, cutoff: number, after: { start: number; ref: string } | null): Iterable<TracePiece> {
    const all = [...[...this.pieces.values()].flat(), ...[...this.draws.values()].map((d) => d.piece)]
      .filter((p) => p.segment === segment && p.arrival <= cutoff)
      .sort((a, b) => a.start - b.start || compareRefs(a.ref, b.ref));
    let last: TracePiece | undefined;
    for (const p of all) {
      if (after && (p.start < after.start || (p.start === after.start && compareRefs(p.ref, after.ref) <= 0))) continue;
      // A record's license-time piece and its draw at one start are one piece to tracing.
      if (last && last.start === p.start && last.ref === p.ref) { last.units += p.units; continue; }
      if (last) yield last;
      last = { ref: p.ref, start: p.start, units: p.units, arrival: p.arrival };
    }
    if (last) yield last;
  }
}
