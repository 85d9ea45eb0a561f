// A snapshot holder's identity, `daemon|feature|version|user|host|handle|start[|product]`: how the
// tracker recognises the session a holder of the previous snapshot opened (saved with the session).
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
