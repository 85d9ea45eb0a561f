// A week of one FlexLM server's `lmutil lmstat -a` outputs with known truth, and what a state dir's
// log bills of it: the snapshot tests of run and backfill (snapshot-rename, snapshot-backfill-run).
import type { UsageData } from "../../../shared/protocol/index.ts";
import { logRecords } from "../cli/cli-io.ts";

/** Synthetic `lmutil lmstat -a` output (FORMATS grammar) taken at `at` (`11/30/2026 09:00`, a Monday
 *  and so on: `day` names it), listing `holders` (`ann pc1 101 Mon 11/23 9:12`; handle `-`: a line
 *  without one, as lmstat prints a handle of 0). */
export function lmstat(day: string, at: string, holders: string[]): string {
  const lines = holders.map((h) => {
    const [user, host, handle, ...start] = h.split(" ");
    return `    ${user} ${host} /dev/tty (v35)${handle === "-" ? "" : ` (lic1/27000 ${handle})`}, start ${start.join(" ")}`;
  });
  return [
    "lmstat - Copyright (c) 1989-2014 Flexera Software LLC. All Rights Reserved.",
    `Flexible License Manager status on ${day} ${at}`, "",
    "License server status: 27000@lic1", "    License file(s) on lic1: /opt/flexlm/license.dat:", "",
    "lic1: license server UP (MASTER) v11.14.0", "", "Vendor daemon status (on lic1):", "", "       MLM: UP v11.14.0",
    "Feature usage info:", "",
    `Users of MATLAB:  (Total of 10 licenses issued;  Total of ${holders.length} licenses in use)`, "",
    '  "MATLAB" v37, vendor: MLM, expiry: 01-jan-0000', "  floating license", "", ...lines, "",
  ].join("\n");
}

// A week: ann since Mon 11/23 09:12, bob Mon 11/30 08:00 – Tue 12/1 09:00, cy Wed 12/2 08:30–09:00.
export const WEEK = [
  lmstat("Mon", "11/30/2026 09:00", ["ann pc1 101 Mon 11/23 9:12", "bob pc2 102 Mon 11/30 8:00"]),
  lmstat("Tue", "12/1/2026 09:00", ["ann pc1 101 Mon 11/23 9:12", "bob pc2 102 Mon 11/30 8:00"]),
  lmstat("Wed", "12/2/2026 09:00", ["ann pc1 101 Mon 11/23 9:12", "cy pc3 103 Wed 12/2 8:30"]),
  lmstat("Wed", "12/2/2026 10:00", []),
];
export const H = 3600;
/** What was held, per user, in license-seconds: to the last output that listed each. */
export const TRUTH = { ann: 8 * 24 * H + 23 * H + 48 * 60, bob: 25 * H, cy: 30 * 60 };

/** Seconds since the epoch of output i's stated time (UTC). */
export function takenAt(i: number, outputs = WEEK): number {
  const [month, day, year, time] = /on \w+ (\d+)\/(\d+)\/(\d+) (\S+)/.exec(outputs[i]!)!.slice(1);
  return Date.parse(`${year}-${month!.padStart(2, "0")}-${day!.padStart(2, "0")}T${time!.padStart(5, "0")}:00Z`) / 1000;
}

export async function usage(state: string): Promise<UsageData[]> {
  return (await logRecords(state)).filter((r) => r.kind === "usage").map((r) => r.data as UsageData);
}

/** License-seconds of every usage interval in the log, per user: what the edge rates (two intervals
 *  of one session that overlap are both rated, shared/pricing/rate.ts). */
export async function billed(state: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const d of await usage(state)) out[d.user] = (out[d.user] ?? 0) + ((d.end - d.start) / 1000) * d.count;
  return out;
}

/** Intervals of one holder that overlap one billed before (`user start end`): billed twice. */
export async function overlaps(state: string): Promise<string[]> {
  const all = (await usage(state)).sort((a, b) => a.start - b.start);
  return all.filter((d, i) => all.slice(0, i).some((e) => e.user === d.user && e.host === d.host && e.end > d.start)).map((d) => `${d.user} ${d.start} ${d.end}`);
}
