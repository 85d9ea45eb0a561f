// Reprise `rlmutil rlmstat -a` output → one snapshot of every held license handle (FORMATS.md §3.1).
// `Error connecting to … server` is a `server_down`; an ISV listed as not running is a
// `server_down` for that daemon.
import type { SnapshotHolder, SnapshotResult, SnapshotSource, SourceOptions } from "./events.ts";
import { outputLines, tally, startSnapshot } from "./snapshot-output.ts";
import { WallClock } from "./wall-clock.ts";
import { anchorAt, ctimeWallTime, yearlessToUtc } from "./snapshot-year.ts";
import { wallTimeAt, wallTimeToUtc } from "../../shared/time/zoned.ts";

// `converge_super v3.0: asdj13@myserver.example.com 29/0 at 11/01 09:01  (handle: 15a)`. Handles are
// hex in the manual, but servers print others (`329h`): any non-blank text is the handle.
const USAGE = /^\s*(\S+) v(\S+): (.+)@(\S+) (\d+)\/(\d+) at (\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2})\s+\(handle: ([^\s)]+)\)/;
// Older layout from the RLM manual: `test3 v1.000: tom@sun1(v1.0) (809f418) 1/0 at 02/06 09:59`
const USAGE_OLD = /^\s*(\S+) v(\S+): (.+)@([^\s(]+)\(v[^)]*\) \(([^\s)]+)\) (\d+)\/(\d+) at (\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2})/;
const POOL_PRODUCT = /^\s*(\S+) v(\S+)(?:, pool: \d+)?$/;
const POOL_COUNTS = /^\s*count: (\S+), # reservations: (\d+), inuse: (\d+)/;
const ISV_ROW = /^\s*(\S+)\s+(\d+)\s+(Yes|No)\s+(\d+)$/;
const STATISTICS = /^\s*(?:Todays|Recent) Statistics \((\d+):(\d{2}):(\d{2})\), init time: (.+)$/;
// `info log filename`: RLM v15's name for the ISV debug log (simio, rlmstat-jordiroman-simio.txt).
const KNOWN = [
  /^Setting license file path to /, /^rlmutil v/, /^Copyright \(C\)/, /status on .* \(port \d+\), up /,
  /software version v/, /comm version: /, /^\s*Startup time: /, /^\s*(Recent|Todays|Total) Stats/, /^\s*[\dd: ]+$/,
  /^\s*(Messages|Connections|Checkouts|Denials|Removals):/, /^\s*-+( ISV servers -+)?$/, /^\s*Name\s+Port\s+Running/,
  /^\s*\S+ (Debug|info|Report) log filename: /, /^\s*obsolete: \d+/, /^\s*Token-based license$/, /^No error$/,
];
const FAILURE = /^(Error connecting to .*|Connection attempted to host: .*|rlmstat: .*error.*)$/i;

export class RlmRlmstatSource implements SnapshotSource {
  private readonly zone: string;
  private readonly clock: WallClock;

  constructor(opts: SourceOptions) {
    this.zone = opts.timezone;
    this.clock = new WallClock(opts.timezone);
  }

  parse(text: string, takenAt: number): SnapshotResult {
    const { at, counter, result } = startSnapshot(takenAt);
    const failures: string[] = [];
    let isv = "";
    let product: string | undefined;
    let sawLicenses = false;
    const usage: Array<{ m: string[]; isv: string; old: boolean }> = [];
    for (const line of outputLines(text)) {
      counter.line();
      if (line.trim() === "") continue;
      let m: RegExpExecArray | null;
      if ((m = /^\s*(\S+) license (pool|usage) status on /.exec(line))) { isv = m[1]!; sawLicenses = true; continue; }
      if ((m = USAGE.exec(line))) { usage.push({ m: [...m], isv, old: false }); continue; }
      if ((m = USAGE_OLD.exec(line))) { usage.push({ m: [...m], isv, old: true }); continue; }
      if ((m = POOL_COUNTS.exec(line))) {
        sawLicenses = true;
        if (product !== undefined) {
          tally(result.stated_in_use, product, Number(m[3]));
          if (Number(m[2]) > 0) result.reservations.push({ feature: product, count: Number(m[2]), for: `${isv} pool` });
        }
        continue;
      }
      if ((m = STATISTICS.exec(line))) {
        const init = ctimeWallTime(m[4]!);
        if (init && result.stated_at === undefined) {
          result.stated_at = wallTimeToUtc(init, this.zone) + ((+m[1]! * 60 + +m[2]!) * 60 + +m[3]!) * 1000;
        }
        continue;
      }
      if ((m = ISV_ROW.exec(line))) {
        if (m[3] === "No") result.events.push({ type: "server_down", at, daemon: m[1]!, reason: `ISV server ${m[1]} not running` });
        continue;
      }
      if (FAILURE.test(line.trim())) { failures.push(line.trim()); continue; }
      if (KNOWN.some((re) => re.test(line))) continue;
      if ((m = POOL_PRODUCT.exec(line))) { product = m[1]!; continue; }
      counter.unknownLine(line);
    }

    const anchor = result.stated_at !== undefined ? wallTimeAt(result.stated_at, this.zone) : anchorAt(at, this.zone);
    if (failures.length > 0 && !sawLicenses) {
      result.events.push({ type: "server_down", at, reason: failures.join("; ") });
    } else if (sawLicenses) {
      const holders = usage.map(({ m, isv: daemon, old }): SnapshotHolder => {
        const [feature, version, user, host] = [m[1]!, m[2]!, m[3]!, m[4]!];
        const [handle, count, mo, d, h, mi] = old ? [m[5]!, m[6]!, m[8]!, m[9]!, m[10]!, m[11]!] : [m[11]!, m[5]!, m[7]!, m[8]!, m[9]!, m[10]!];
        const start = yearlessToUtc({ month: +mo, day: +d, hour: +h, minute: +mi }, anchor, this.clock);
        return { daemon, feature, version, user, host, handle, count: Number(count), start, group: shareGroup({ daemon, feature, version, user, host }, start) };
      });
      result.events.push({ type: "snapshot", at, holders: sharedAsOne(holders, result.stated_in_use) });
    }
    result.stats = counter.stats(result.events.length);
    return result;
  }
}


/** The group of RLM handles that may share one license (see sharedAsOne): ISV, product, version, user, host and start. */
export function shareGroup(h: Pick<SnapshotHolder, "daemon" | "feature" | "version" | "user" | "host">, start: number): string {
  return JSON.stringify([h.daemon, h.feature, h.version, h.user, h.host, start]);
}

/**
 * RLM `share=`: processes of one user and host can hold one license, each listed with its own handle
 * while the pool counts the license once (a Foundry rlmstat lists two handles per Nuke session). Where
 * a product's listed licenses exceed the `inuse` its pools state, the handles of one group (ISV,
 * product, version, user, host, start minute) are taken as one license, held as much as its largest
 * handle — unless that leaves fewer than the pools count: ten batch jobs started in one minute on one
 * node are ten licenses, and the pools say ten. The group stays on each holder, so a shared license
 * that loses or gains a handle between polls continues instead of starting again (snapshot-diff.ts).
 */
export function sharedAsOne(holders: SnapshotHolder[], statedInUse: Record<string, number>): SnapshotHolder[] {
  const listed: Record<string, number> = {};
  for (const h of holders) tally(listed, h.feature, h.count);
  const groups = new Map<string, SnapshotHolder[]>();
  for (const h of holders) {
    if (!(listed[h.feature]! > (statedInUse[h.feature] ?? Infinity))) continue;
    const members = groups.get(h.group!);
    if (members) members.push(h);
    else groups.set(h.group!, [h]);
  }
  const merged: Record<string, number> = { ...listed };
  for (const members of groups.values()) {
    if (members.length > 1) merged[members[0]!.feature]! -= members.reduce((n, h) => n + h.count, 0) - Math.max(...members.map((h) => h.count));
  }
  const out: SnapshotHolder[] = [];
  const done = new Set<string>();
  for (const h of holders) {
    const members = groups.get(h.group!);
    if (members === undefined || members.length < 2 || merged[h.feature]! < statedInUse[h.feature]!) out.push(h);
    else if (!done.has(h.group!)) {
      done.add(h.group!);
      const { handle: _handle, ...shared } = h;
      out.push({ ...shared, count: Math.max(...members.map((m) => m.count)) });
    }
  }
  return out;
}
