// RLM report log: checkouts that share one license (FORMATS.md §3.2). A license shared by user,
// host or ISV rule (`share=uh`, …) is held once by the checkouts of its group: a CAD user's third
// window on one workstation takes no license of its own. OUT (and INUSE since v12.2) names the
// group in `share_handle`: the handle of the group's first checkout — or, once that one has checked
// in, of another still open (the manual) — so a handle joins the group of the handle it names.
//
// A group is billed as one session, its first checkout's (holder and count), from that checkout
// until its last open member checks in: however its members come and go, the license it holds is
// billed once. A share_handle of 0, its own handle or a handle not open (the log began after it, or
// a report log before v12.2 lists INUSE without it) bills the checkout as a license of its own: no
// guess at a group the log does not show.

import type { Holder } from "./events.ts";

export interface ShareGroups {
  /** Handle of an open checkout in a group → the group's id. */
  member: Record<string, string>;
  /** Group id → the session it is billed as and the handles of its open checkouts. */
  groups: Record<string, { holder: Holder; open: string[] }>;
  /** The next group's id (an id of its own, not a handle: a server may hand a handle out again). */
  next: number;
}

export const noShareGroups = (): ShareGroups => ({ member: {}, groups: {}, next: 0 });

/**
 * A checkout (`handle`) naming `shareHandle` as the license it shares joins that handle's group; an
 * open checkout of its own (`plain`) that a first member names becomes the group (it leaves `plain`).
 * False: a license of its own.
 */
export function joinGroup(g: ShareGroups, handle: string, shareHandle: string | undefined, plain: Record<string, Holder>): boolean {
  if (shareHandle === undefined || shareHandle === "0" || shareHandle === handle) return false;
  let id = g.member[shareHandle];
  if (id === undefined) {
    const holder = plain[shareHandle];
    if (holder === undefined) return false;
    delete plain[shareHandle];
    id = String(g.next++);
    g.groups[id] = { holder, open: [shareHandle] };
    g.member[shareHandle] = id;
  }
  g.groups[id]!.open.push(handle);
  g.member[handle] = id;
  return true;
}

/** A member checked in: the group's holder when it was the last one open (the session ends), null
 *  while others hold the license on; undefined when `handle` is in no group. */
export function leaveGroup(g: ShareGroups, handle: string): Holder | null | undefined {
  const id = g.member[handle];
  if (id === undefined) return undefined;
  delete g.member[handle];
  const group = g.groups[id]!;
  group.open = group.open.filter((h) => h !== handle);
  if (group.open.length > 0) return null;
  delete g.groups[id];
  return group.holder;
}

/** A new log file listed what is in use (INUSE): members it did not list have checked in; returns the
 *  holders of the groups none of whose members it listed (their sessions end). */
export function keepListed(g: ShareGroups, listed: ReadonlySet<string>): Holder[] {
  const ended: Holder[] = [];
  for (const handle of Object.keys(g.member)) {
    if (listed.has(handle)) continue;
    const holder = leaveGroup(g, handle);
    if (holder) ended.push(holder);
  }
  return ended;
}
