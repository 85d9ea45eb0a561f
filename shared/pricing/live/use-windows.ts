// Use windows kept incrementally (DESIGN §5 "Feature → units", §6 "Cost at scale"): the store holds
// each session's use and each key's draws. A use that arrives, leaves or moves re-windows only its
// key, from its own position forward: the next opener is the first use at or after the end of the
// window before it, and the walk stops at the first window that comes out exactly as stored —
// everything after it depends only on where that window ends and on later uses, which did not
// change. So a batch costs O(the windows it touches), never the key's history or the contract's.
// The pure form (draws.ts `drawPieces`) is the oracle this is tested against.
import { drawOf, sameDraw, usePosition, type Use } from "../draws.ts";
import type { RatedPiece } from "../rate.ts";
import type { PricingTerms } from "../terms.ts";
import type { LiveStore, UsePosition } from "./store.ts";

export type MovePiece = (piece: RatedPiece, sign: 1 | -1) => void;

function sameUse(a: Use, b: Use): boolean {
  return a.key === b.key && a.start === b.start && a.ref === b.ref && a.feature === b.feature && a.count === b.count && a.received_at === b.received_at;
}

/**
 * A session's use is now `next` (undefined: it makes none, e.g. it was removed or is rated by the
 * hour): replaces the stored one and re-windows the keys involved. The same use is re-windowed
 * from its place too, as new terms may price its draw differently.
 */
export function replaceUse(store: LiveStore, terms: PricingTerms, session: string, next: Use | undefined, move: MovePiece): void {
  const old = store.use(session);
  if (old && next && sameUse(old, next)) { rewindow(store, terms, old.key, old, move); return; }
  if (old) { store.deleteUse(session); rewindow(store, terms, old.key, old, move); }
  if (next) { store.putUse(next); rewindow(store, terms, next.key, next, move); }
}

/** Re-computes `key`'s draws from position `from` on, moving each draw that changes; stops once they agree. */
export function rewindow(store: LiveStore, terms: PricingTerms, key: string, from: UsePosition, move: MovePiece): void {
  const prev = store.prevDraw(key, from);
  let cover = prev ? prev.until : -Infinity;
  let pos: UsePosition = { start: from.start, ref: from.ref };
  let inclusive = true;
  for (;;) {
    // A window covers [start, until): a use exactly at `until` opens the next one.
    const use = cover > pos.start ? store.nextUse(key, { start: cover, ref: "" }, true) : store.nextUse(key, pos, inclusive);
    // Stored draws before that use no longer open a window; the loop ends at the first draw at or
    // after the use (the use is never before `pos`), the one that may be the use's own.
    let stored = store.nextDraw(key, pos, inclusive);
    for (; stored && (!use || usePosition(stored.piece, use) < 0); stored = store.nextDraw(key, stored.piece, false)) {
      store.deleteDraw(stored);
      move(stored.piece, -1);
    }
    if (!use) return;
    const draw = drawOf(terms, use);
    const here = stored && usePosition(stored.piece, use) === 0 ? stored : undefined;
    if (here && draw && sameDraw(here, draw)) return;
    if (here) { store.deleteDraw(here); move(here.piece, -1); }
    if (draw) { store.putDraw(draw); move(draw.piece, 1); cover = draw.until; }
    pos = { start: use.start, ref: use.ref };
    inclusive = false;
  }
}
