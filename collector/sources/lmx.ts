// LM-X `lmxendutil -licstat` (text) and `-licstatxml` (XML) output → one snapshot of every
// checkout (FORMATS.md §4). LM-X prints no handle: a holder is (feature, user, host, checkout
// time). `There are no license server(s) available.` or no successful server is a `server_down`.
import type { SnapshotResult, SnapshotSource, SourceOptions } from "./events.ts";
import { lmxHolder, parseLmxXml, type LmxHolderText } from "./lmx-xml.ts";
import { ParseCounter, outputLines, tally } from "./snapshot-output.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";

const FEATURE = /^Feature: (\S+) Version: (\S+) Vendor: (\S+)/;
const USED = /^(\d+) of (\d+) license\(s\) used:?$/;
const HOLDER = /^(\d+) license\(s\) used by (.+)@(\S+?)(?: \[([^\]]*)\])?$/;
const TIMES = /^(?:Login time: (\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}))?\s*(?:Checkout time|Borrow expire time): (\d{4}-\d{2}-\d{2} \d{1,2}:\d{2})/;
const KNOWN = [
  /^LM-X End-user Utility/, /^Copyright \(C\)/, /^\+{10,}$/, /^-{10,}$/, /^LM-X License Server on /, /^LM-X license server\(s\):$/,
  /^Server version: /, /^Start date: /, /^Key type: /, /^Shared on /, /^Login time: /,
];
const NO_SERVER = /^There are no license server\(s\) available\.$/;


export class LmxSource implements SnapshotSource {
  private readonly zone: string;

  constructor(opts: SourceOptions) {
    this.zone = opts.timezone;
  }

  parse(text: string, takenAt: number): SnapshotResult {
    if (text.includes("<LICENSE_PATH")) {
      return parseLmxXml(text, wholeSecond(takenAt), this.zone);
    }
    return this.parseText(text, wholeSecond(takenAt));
  }

  private parseText(text: string, at: number): SnapshotResult {
    const counter = new ParseCounter();
    const result: SnapshotResult = { events: [], stats: counter.stats(0), stated_in_use: {}, queued: [], reservations: [] };
    let feature: { name: string; version: string; vendor: string } | undefined;
    let failure: string | undefined;
    let sawServer = false;
    const holders: LmxHolderText[] = [];
    for (const raw of outputLines(text)) {
      counter.line();
      const line = raw.trim();
      if (line === "") continue;
      let m: RegExpExecArray | null;
      if (NO_SERVER.test(line)) { failure = line; continue; }
      if ((m = FEATURE.exec(line))) { feature = { name: m[1]!, version: m[2]!, vendor: m[3]! }; sawServer = true; continue; }
      if (feature && (m = USED.exec(line))) { tally(result.stated_in_use, feature.name, Number(m[1])); continue; }
      if (feature && (m = HOLDER.exec(line))) {
        holders.push({ feature: feature.name, version: feature.version, vendor: feature.vendor, user: m[2]!, host: m[3]!, count: Number(m[1]), borrowed: false });
        continue;
      }
      if ((m = TIMES.exec(line)) && holders.length > 0) {
        const h = holders[holders.length - 1]!;
        if (m[1]) h.login = m[1];
        if (line.includes("Borrow expire time")) h.borrowed = true;
        else h.checkout = m[2];
        continue;
      }
      if (/^LM-X License Server on /.test(line)) sawServer = true;
      if (KNOWN.some((re) => re.test(line))) continue;
      counter.unknownLine(raw);
    }
    if (failure !== undefined && !sawServer) {
      result.events.push({ type: "server_down", at, reason: failure });
    } else if (sawServer) {
      result.events.push({ type: "snapshot", at, holders: holders.map((h) => lmxHolder(h, at, this.zone)) });
    }
    result.stats = counter.stats(result.events.length);
    return result;
  }
}
