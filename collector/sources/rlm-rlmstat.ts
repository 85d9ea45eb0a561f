// Reprise `rlmutil rlmstat -a` output → one snapshot of every held license handle (FORMATS.md §3.1).
// `Error connecting to … server` is a `server_down`; an ISV listed as not running is a
// `server_down` for that daemon.
import type { Holder, SnapshotResult, SnapshotSource, SourceOptions } from "./events.ts";
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
      const holders = usage.map(({ m, isv: daemon, old }): Holder & { start: number } => {
        const [feature, version, user, host] = [m[1]!, m[2]!, m[3]!, m[4]!];
        const [handle, count, mo, d, h, mi] = old ? [m[5]!, m[6]!, m[8]!, m[9]!, m[10]!, m[11]!] : [m[11]!, m[5]!, m[7]!, m[8]!, m[9]!, m[10]!];
        const start = yearlessToUtc({ month: +mo, day: +d, hour: +h, minute: +mi }, anchor, this.clock);
        return { daemon, feature, version, user, host, handle, count: Number(count), start };
      });
      result.events.push({ type: "snapshot", at, holders });
    }
    result.stats = counter.stats(result.events.length);
    return result;
  }
}

