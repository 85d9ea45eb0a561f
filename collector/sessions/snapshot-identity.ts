// A snapshot holder's identity, `daemon|feature|version|user|host|handle|start[|product]`: how the
// tracker recognises the session a holder of the previous snapshot opened (saved with the session).
// Identical lines of one snapshot (no handle, the same holder and start: LM-X, lsmon, an lmstat line
// without a handle) are as many checkouts: the second and later are numbered (`…#2`), as the
// daemon's diff numbers their keys (snapshot-diff.ts).
//
// Built with `join`, not a template: a template makes a tree of a dozen concatenated-string pieces
// per holder, which a Map then hashes by copying it out and compares piece by piece, and which
// stays that size for as long as the session is open; `join` writes one flat string.
import type { Holder } from "../sources/events.ts";

export function snapshotIdentity(h: Holder, start: number): string {
  const parts = [h.daemon, h.feature, h.version ?? "", h.user, h.host, h.handle ?? "", start];
  if (h.product !== undefined) parts.push(h.product);
  return parts.join("|");
}

/** The identity of a snapshot's `n`th identical line (n ≥ 2). */
export function repeatedIdentity(identity: string, n: number): string {
  return `${identity}#${n}`;
}

/** A saved identity as its line's and the line's number among identical ones (1: the first). The
 *  holder's `product` ends an identity and may itself end in `#…`. */
export function identityLine(identity: string, product: string | undefined): { line: string; n: number } {
  const m = /#(\d+)$/.exec(identity);
  if (!m || (product !== undefined && identity.endsWith(`|${product}`))) return { line: identity, n: 1 };
  return { line: identity.slice(0, m.index), n: Number(m[1]) };
}
