// FlexNet `lmutil lmstat -a` output → one snapshot of every held license handle (FORMATS.md §1).
// The whole query failing (`Error getting status`, no server reachable) is a `server_down`,
// never an empty snapshot; `lmstat -vd` / `-i` outputs carry no usage and yield no event.
//
// A large server lists tens of thousands of holders: each user line becomes its holder at once (names
// interned, the handle one flat string), only the two things the whole output decides are filled in
// at the end — the start's year (from the header, which may come last) and, for lines outside a
// `"FEATURE" vN, vendor: V` sub-block, the daemon (the only vendor that is UP).
import type { SnapshotResult, SnapshotSource, SourceEvent, SourceOptions } from "./events.ts";
import { parseQueuedLine, parseUserLine } from "./flexlm-lmstat-line.ts";
import { LmstatHolders } from "./flexlm-lmstat-holders.ts";
import { NameTable } from "./name-table.ts";
import { outputLines, tally, startSnapshot } from "./snapshot-output.ts";
import { WallClock } from "./wall-clock.ts";
import { anchorAt } from "./snapshot-year.ts";
import { wallTimeToUtc, type WallTime } from "../../shared/time/zoned.ts";

const HEADER = /^Flexible License Manager status on (\w{3}) (\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})$/;
const BARE_DATE = /^(\w{3}) (\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})$/;
const USERS_OF = /^Users of (.+?):\s+\((.*)\)$/;
// `borrowable `: lmstat built with SUPPORT_METER_BORROW says so of a feature whose licenses can be borrowed.
const TOTALS = /^Total of (\d+) (?:borrowable )?licenses? issued;\s+Total of (\d+) licenses? in use$/;
const SUB_BLOCK = /^\s*"([^"]+)" v(\S+), vendor: ([^,\s]+)/;
const RESERVATION = /^\s*(\d+) RESERVATIONs? for (.+?) \([^)]*\)$/;
const SERVER_LINE = /^\s*(\S+): (license server UP.*|Cannot connect to license server.*|.*license server.*)$/;
const VENDOR_LINE = /^\s*([^\s:]+): (.+)$/;
const KNOWN = [
  /^(lmutil|lmstat)(-\S+)? - Copyright/, /^\[Detecting lmgrd processes\.\.\.\]$/, /^License server status: /,
  /^\s*License file\(s\) on /, /^Vendor daemon status \(on /, /^\s*vendor_string: /,
  /^\s*(floating|nodelocked|uncounted nodelocked) license/, /^Feature usage info:$/, /^-{10,}$/,
];
const LICENSE_FILE_TABLE = /^NOTE: lmstat -i does not give information from the server/;
const SERVER_STATUS = /^License server status: /;
const DASHES = /^-{10,}$/;
const VENDOR_STATUS = /^Vendor daemon status \(on /;
const UP = /^UP\b/;

function wall(m: RegExpExecArray): WallTime {
  return { year: +m[4]!, month: +m[2]!, day: +m[3]!, hour: +m[5]!, minute: +m[6]!, second: 0 };
}

export class FlexlmLmstatSource implements SnapshotSource {
  private readonly zone: string;
  private readonly clock: WallClock;
  /** Names of every output parsed: a poller's successive snapshots share one copy of each. */
  private readonly names = new NameTable();

  constructor(opts: SourceOptions) {
    this.zone = opts.timezone;
    this.clock = new WallClock(opts.timezone);
  }

  parse(text: string, takenAt: number): SnapshotResult {
    const { at, counter, result } = startSnapshot(takenAt);
    const names = this.names;
    const holders = new LmstatHolders(names);
    let header: WallTime | undefined;
    let failure: string | undefined;
    let sawUsage = false;
    let inVendorStatus = false;
    let inLicenseFileTable = false;
    let serversUp = 0;
    const serverErrors: string[] = [];
    const vendorsUp: string[] = [];
    const vendorsDown: Array<{ daemon: string; reason: string }> = [];
    let feature: string | undefined;
    let sub: { version: string; vendor: string } | undefined;

    for (const line of outputLines(text)) {
      counter.line();
      if (line === "") continue;
      let m: RegExpExecArray | null;
      const first = line.charCodeAt(0);
      // An indented line (user lines, sub-block headers) can match none of the rules before the sub-block's.
      if (first !== 32 && first !== 9) {
        if ((m = HEADER.exec(line)) || (m = BARE_DATE.exec(line))) { header = wall(m); continue; }
        if (line.startsWith("Error getting status:")) { failure = line; continue; }
        // lmstat's line for a license file whose lmgrd did not answer (in place of the server lines).
        if (line.startsWith("lmgrd is not running:")) { serverErrors.push(line); feature = undefined; sub = undefined; continue; }
        if (LICENSE_FILE_TABLE.test(line)) { inLicenseFileTable = true; continue; }
        if (inLicenseFileTable) continue;
        if (SERVER_STATUS.test(line) || DASHES.test(line)) { inVendorStatus = false; feature = undefined; sub = undefined; continue; }
        if (VENDOR_STATUS.test(line)) { inVendorStatus = true; continue; }
        if (line === "Feature usage info:") { inVendorStatus = false; sawUsage = true; continue; }
        if ((m = USERS_OF.exec(line))) {
          inVendorStatus = false;
          sawUsage = true;
          feature = names.intern(m[1]!);
          sub = undefined;
          const totals = TOTALS.exec(m[2]!);
          if (totals) tally(result.stated_in_use, feature, Number(totals[2]));
          continue;
        }
      } else if (inLicenseFileTable) continue;
      if ((m = SUB_BLOCK.exec(line))) { sub = { version: names.intern(m[2]!), vendor: names.intern(m[3]!) }; continue; }
      if (feature !== undefined) {
        const vendor = sub?.vendor ?? (vendorsUp.length === 1 ? vendorsUp[0] : undefined);
        const user = parseUserLine(line, vendor);
        if (user) {
          holders.add(feature, sub, user);
          if (user.leftover) counter.unknownLine(line);
          continue;
        }
        const queued = parseQueuedLine(line, vendor);
        if (queued) { result.queued.push({ feature, ...queued }); continue; }
        if ((m = RESERVATION.exec(line))) { result.reservations.push({ feature, count: Number(m[1]), for: m[2]! }); continue; }
      }
      if (!inVendorStatus && (m = SERVER_LINE.exec(line))) {
        if (m[2]!.startsWith("license server UP")) serversUp++;
        else serverErrors.push(line.trim());
        continue;
      }
      if (inVendorStatus && (m = VENDOR_LINE.exec(line))) {
        if (UP.test(m[2]!)) vendorsUp.push(m[1]!);
        else vendorsDown.push({ daemon: m[1]!, reason: m[2]! });
        continue;
      }
      if (KNOWN.some((re) => re.test(line))) continue;
      counter.unknownLine(line);
    }

    if (header) result.stated_at = wallTimeToUtc(header, this.zone);
    const anchor = header ?? anchorAt(at, this.zone);
    // With several license files, a vendor daemon can be down on one server and up on another: it
    // still serves there, and a server_down for it would end (and the next poll reopen) its sessions.
    for (const v of vendorsDown) {
      if (!vendorsUp.includes(v.daemon)) result.events.push({ type: "server_down", at, daemon: v.daemon, reason: v.reason });
    }
    if (failure !== undefined || (!sawUsage && serverErrors.length > 0 && serversUp === 0)) {
      result.events.push({ type: "server_down", at, reason: failure ?? serverErrors.join("; ") });
    } else if (sawUsage) {
      const onlyVendor = vendorsUp.length === 1 ? vendorsUp[0]! : "";
      result.events.push({ type: "snapshot", at, holders: holders.finish(onlyVendor, anchor, this.clock) } satisfies SourceEvent);
    }
    result.stats = counter.stats(result.events.length);
    return result;
  }
}
