// Dassault DSLS `DSLicSrv -admin` + `getLicenseUsage -csv` output → one snapshot (FORMATS.md §5).
// The CSV follows a banner and `admin >` prompt (the header may be glued to the prompt); one
// row per idle feature, one per holder otherwise. `Count`/`Inuse` are feature totals repeated
// on every row; `Tokens` is the holder's amount. A row with a `Queue Position` is waiting.
// DSLS has no vendor daemon name: holders carry daemon "DSLS".
import type { SnapshotHolder, SnapshotResult, SnapshotSource, SourceOptions } from "./events.ts";
import { outputLines, startSnapshot, tally } from "./snapshot-output.ts";
import { isoWallTime } from "./snapshot-year.ts";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";

export const DSLS_DAEMON = "DSLS";
const KNOWN = [
  /^License Administration Tool Version /, /^admin >\s*(Software version: .*)?$/, /^\s*Build date: /, /^\s*Standalone mode$/,
  /^\s*Ready: /, /^\s*Server name: /, /^Warning: /, /^\s*(Failover|Cluster) mode/,
];
const FAILURE = /^(Cannot connect to server .*|Connection refused.*|ERROR.*)$/i;

/** One CSV line: commas separate, double quotes group, `""` is a quote inside quotes. */
export function csvFields(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") { fields.push(field); field = ""; }
    else field += c;
  }
  fields.push(field);
  return fields;
}

export class DslsSource implements SnapshotSource {
  private readonly zone: string;

  constructor(opts: SourceOptions) {
    this.zone = opts.timezone;
  }

  parse(text: string, takenAt: number): SnapshotResult {
    const { at, counter, result } = startSnapshot(takenAt);
    let columns: string[] | undefined;
    let failure: string | undefined;
    const holders: Array<SnapshotHolder> = [];
    const licenses = new Set<string>();
    for (const line of outputLines(text)) {
      counter.line();
      if (line.trim() === "") continue;
      const headerAt = line.indexOf("Editor,EditorId,");
      if (headerAt >= 0) { columns = csvFields(line.slice(headerAt)).map((c) => c.trim()); continue; }
      if (columns && /^[^,]*,[^,]*,/.test(line) && !line.startsWith("admin >")) {
        if (!this.row(columns, csvFields(line), result, holders, licenses, at)) counter.unknownLine(line);
        continue;
      }
      if (FAILURE.test(line.trim())) { failure = line.trim(); continue; }
      if (KNOWN.some((re) => re.test(line))) continue;
      counter.unknownLine(line);
    }
    if (columns) result.events.push({ type: "snapshot", at, holders });
    else if (failure !== undefined) result.events.push({ type: "server_down", at, reason: failure });
    result.stats = counter.stats(result.events.length);
    return result;
  }

  /** Reads one data row; false when it lacks the feature columns. `licenses`: the licenses whose `Inuse` is counted. */
  private row(columns: string[], fields: string[], result: SnapshotResult, holders: Array<SnapshotHolder>, licenses: Set<string>, at: number): boolean {
    const get = (name: string): string => (fields[columns.indexOf(name)] ?? "").trim();
    const feature = get("Feature");
    const inuse = get("Inuse");
    if (feature === "" || !/^\d+$/.test(inuse)) return false;
    // A feature can come from several licenses (another expiry, release or customer), each row repeating
    // its own license's `Inuse`: count it once per license, that is per distinct text before `Inuse`.
    const license = fields.slice(0, columns.indexOf("Inuse")).map((f) => f.trim()).join(",");
    if (!licenses.has(license)) { licenses.add(license); tally(result.stated_in_use, feature, Number(inuse)); }
    const user = get("User");
    if (user === "") return true;
    // `nid001626 (263.0)/127.0.0.1`: the client host name comes before the id and the IP.
    const host = get("Host").split(/[\s/]/)[0] ?? "";
    const tokens = get("Tokens");
    const count = /^\d+$/.test(tokens) && Number(tokens) > 0 ? Number(tokens) : 1;
    if (get("Queue Position") !== "") {
      result.queued.push({ feature, user, host, count });
      return true;
    }
    const since = isoWallTime(get("Granted Since") || get("Granted At"));
    const session = get("Session ID");
    holders.push({
      daemon: DSLS_DAEMON, feature, user, host, count,
      ...(session ? { handle: session } : {}),
      start: since ? wallTimeToUtc(since, this.zone) : at,
    });
    return true;
  }
}
