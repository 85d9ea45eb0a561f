// Thales Sentinel RMS `lsmon HOST` output → one snapshot (FORMATS.md §6). A tree of
// `|- Key : value` lines: Feature Information → License Information / Client Information.
// A client's `Status : Running since <ctime>` is its start; no handle, so a holder is
// (feature, user, host, start). A client holds `Number of tokens used : N` tokens (lsmon's own string
// table prints it among a client's keys; the real output seen prints none, i.e. 1); a client key not
// known to say nothing of its use is an unknown line (with a sample).
import type { SnapshotHolder, SnapshotResult, SnapshotSource, SourceOptions } from "./events.ts";
import { outputLines, tally, startSnapshot } from "./snapshot-output.ts";
import { ctimeWallTime } from "./snapshot-year.ts";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";

export const SENTINEL_DAEMON = "sentinel";
const ENTRY = /^\s*\|- (.+?)\s*:\s(.*)$/;
const BLOCK = /^\s*\|- (Feature|License|Client) Information$/;
const KNOWN = [/Sentinel RMS .*Application Monitor$/, /^\s*Copyright \(C\)/, /^\s*\[Contacting .* server on host /, /^\s*Press Enter to continue/];
const FAILURE = /(unable to|cannot|could not|failed|no .*server|error)/i;
// A client's keys that say nothing more of its use. Any other key of a client (`Token shared by`,
// a version's) may change what it holds: counted as an unknown line, with a sample, not passed over.
const CLIENT_OTHER_KEYS = new Set(["X display name", "Group name", "Is commuter token"]);

interface Client { user: string; host: string; status: string; count: number }

function unquote(value: string): string {
  const v = value.trim();
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export class SentinelLsmonSource implements SnapshotSource {
  private readonly zone: string;

  constructor(opts: SourceOptions) {
    this.zone = opts.timezone;
  }

  parse(text: string, takenAt: number): SnapshotResult {
    const { at, counter, result } = startSnapshot(takenAt);
    let block: string | undefined;
    let feature = "";
    let version: string | undefined;
    let client: Client | undefined;
    let sawFeature = false;
    const failures: string[] = [];
    const holders: Array<SnapshotHolder> = [];
    const flush = (): void => {
      if (!client) return;
      const since = /^Running since (.+)$/.exec(client.status);
      const wall = since ? ctimeWallTime(since[1]!) : undefined;
      if (wall) {
        holders.push({ daemon: SENTINEL_DAEMON, feature, ...(version ? { version } : {}), user: client.user, host: client.host, count: client.count, start: wallTimeToUtc(wall, this.zone) });
      } else {
        result.queued.push({ feature, user: client.user, host: client.host, count: client.count });
      }
      client = undefined;
    };
    for (const line of outputLines(text)) {
      counter.line();
      if (line.trim() === "") continue;
      let m: RegExpExecArray | null;
      if ((m = BLOCK.exec(line))) {
        flush();
        block = m[1];
        if (block === "Feature") { sawFeature = true; feature = ""; version = undefined; }
        if (block === "Client") client = { user: "", host: "", status: "", count: 1 };
        continue;
      }
      if ((m = ENTRY.exec(line))) {
        const [key, value] = [m[1]!, unquote(m[2]!)];
        if (block === "Feature") {
          if (key === "Feature name") feature = value;
          else if (key === "Feature version") version = value;
          else if (/^(Unreserved|Reserved) tokens in use$/.test(key) && /^\d+$/.test(value)) tally(result.stated_in_use, feature, Number(value));
        } else if (block === "Client" && client) {
          if (key === "User name") client.user = value;
          else if (key === "Host name") client.host = value;
          else if (key === "Status") client.status = value;
          else if (key === "Number of tokens used" && /^\d+$/.test(value)) client.count = Number(value);
          else if (!CLIENT_OTHER_KEYS.has(key)) counter.unknownLine(line);
        }
        continue;
      }
      if (KNOWN.some((re) => re.test(line))) continue;
      if (!sawFeature && FAILURE.test(line)) { failures.push(line.trim()); continue; }
      counter.unknownLine(line);
    }
    flush();
    if (sawFeature) result.events.push({ type: "snapshot", at, holders });
    else if (failures.length > 0) result.events.push({ type: "server_down", at, reason: failures.join("; ") });
    result.stats = counter.stats(result.events.length);
    return result;
  }
}
