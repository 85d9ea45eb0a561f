// A holder's pairing key, `daemon|feature|user|host|handle[|product]`, built once per holder.
// Sources hand over the same (interned) name strings again and again, so a small direct-mapped
// cache that recognises them by identity saves building and hashing the key on every event of a
// 1 GB log; the keys themselves are interned, so sessions and ordinals share one copy. A slot also
// remembers what the tracker's tables keep under its key (its open sessions, its start seconds),
// so an event finds them without a lookup by key: each table says when such a memory is stale.
import { NameTable } from "../sources/name-table.ts";

/** A holder as the key cache knows it: its key, and the tables' entries for it as last seen. */
export interface HolderSlot {
  readonly daemon: string; readonly feature: string; readonly user: string; readonly host: string; readonly handle: string; readonly product: string | undefined;
  readonly key: string;
  /** OpenSessions' list for the key, valid while its epoch is `openEpoch` (undefined: look it up). */
  open: unknown[] | undefined;
  openEpoch: number;
  /** SessionIds' start seconds for the key, valid while its epoch is `startsEpoch`. */
  starts: number[] | undefined;
  startsEpoch: number;
}

const SLOTS = 16_384;

export class HolderKeys {
  private readonly slots: Array<HolderSlot | undefined> = new Array<HolderSlot | undefined>(SLOTS).fill(undefined);
  private readonly keys = new NameTable();

  /** The holder's slot (its key, and what the tables keep for it as last seen). The product is part of
   *  the key only where a token pool names one, so older session ids stay the same. */
  holderOf(daemon: string, feature: string, user: string, host: string, handle: string, product: string | undefined): HolderSlot {
    const i = slotOf(feature, user, host);
    const s = this.slots[i];
    if (s !== undefined && s.user === user && s.host === host && s.feature === feature && s.daemon === daemon && s.handle === handle && s.product === product) return s;
    // `join` writes one flat string; a template would be a tree of pieces, hashed by copying it out.
    const key = this.keys.internBuilt(product === undefined ? [daemon, feature, user, host, handle].join("|") : [daemon, feature, user, host, handle, product].join("|"));
    const slot: HolderSlot = { daemon, feature, user, host, handle, product, key, open: undefined, openEpoch: -1, starts: undefined, startsEpoch: -1 };
    this.slots[i] = slot;
    this.misses++;
    return slot;
  }

  misses = 0;
}

/** A cheap spread of a holder over the slots, from a few characters at the ends of its names. */
function slotOf(feature: string, user: string, host: string): number {
  let h = Math.imul(user.length, 0x9e3779b1) ^ Math.imul(host.length, 0x85ebca6b) ^ Math.imul(feature.length, 0xc2b2ae35);
  h = Math.imul(h ^ (user.charCodeAt(user.length - 1) | 0) ^ ((user.charCodeAt(user.length - 2) | 0) << 8), 0x27d4eb2f);
  h = Math.imul(h ^ (host.charCodeAt(host.length - 1) | 0) ^ ((host.charCodeAt(host.length - 2) | 0) << 8) ^ ((user.charCodeAt(0) | 0) << 16), 0x165667b1);
  h = Math.imul(h ^ (feature.charCodeAt(feature.length - 1) | 0) ^ ((feature.charCodeAt(0) | 0) << 8), 0x9e3779b1);
  return (h ^ (h >>> 15)) & (SLOTS - 1);
}
