// `lmxendutil -licstatxml` output (FORMATS.md §4.2; schema from public parsers, no public sample).
// lmxendutil prints a text banner before the XML; USER attributes vary (BORROW_EXPIRE_TIME for
// borrowed licenses) and so does their place: under FEATURE, or under a USED element of it (both
// read by crivasg/HWTokenLicenseChecker's LMX2SQLite.cs); in a HAL triad only the first server with
// STATUS="SUCCESS" is read.
import { XMLParser } from "fast-xml-parser";
import type { SnapshotHolder, SnapshotResult } from "./events.ts";
import { ParseCounter, outputLines, tally } from "./snapshot-output.ts";
import { isoWallTime } from "./snapshot-year.ts";
import { wallTimeToUtc } from "../../shared/time/zoned.ts";

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseAttributeValue: false,
  isArray: (name) => ["LICENSE_PATH", "FEATURE", "USED", "USER"].includes(name),
});

function asArray(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? (value as Array<Record<string, unknown>>) : [];
}

function attr(node: Record<string, unknown>, name: string): string | undefined {
  const v = node[name];
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined;
}

export function parseLmxXml(text: string, at: number, zone: string): SnapshotResult {
  const counter = new ParseCounter();
  const result: SnapshotResult = { events: [], stats: counter.stats(0), stated_in_use: {}, queued: [], reservations: [] };
  const xmlLines: string[] = [];
  for (const line of outputLines(text)) {
    counter.line();
    if (/^\s*[<>]/.test(line)) xmlLines.push(line);
    else if (line.trim() !== "" && !/^(LM-X End-user Utility|Copyright \(C\))/.test(line.trim())) counter.unknownLine(line);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xmlLines.join("\n")) as Record<string, unknown>;
  } catch (err) {
    counter.unknownLine(`unparseable XML: ${(err as Error).message.split("\n")[0]}`);
    result.stats = counter.stats(0);
    return result;
  }
  const paths = findPaths(doc);
  const ok = paths.find((p) => attr(p, "STATUS") === "SUCCESS");
  if (!ok) {
    if (paths.length > 0) {
      const why = paths.map((p) => `${attr(p, "HOST") ?? "?"}: ${attr(p, "STATUS") ?? "no status"}`).join("; ");
      result.events.push({ type: "server_down", at, reason: `no LM-X server answered (${why})` });
    }
    result.stats = counter.stats(result.events.length);
    return result;
  }
  const holders = [];
  for (const f of asArray(ok.FEATURE)) {
    const feature = attr(f, "NAME") ?? "";
    tally(result.stated_in_use, feature, Number(attr(f, "USED_LICENSES") ?? 0));
    for (const u of usersOf(f)) {
      const h: LmxHolderText = {
        feature, version: attr(f, "VERSION") ?? "", vendor: attr(f, "VENDOR") ?? "",
        user: attr(u, "NAME") ?? "", host: attr(u, "HOST") ?? "", count: Number(attr(u, "USED_LICENSES") ?? 1),
        borrowed: attr(u, "BORROW_EXPIRE_TIME") !== undefined,
      };
      const login = attr(u, "LOGIN_TIME");
      const checkout = attr(u, "CHECKOUT_TIME");
      if (login) h.login = login;
      if (checkout) h.checkout = checkout;
      holders.push(lmxHolder(h, at, zone));
    }
  }
  result.events.push({ type: "snapshot", at, holders });
  result.stats = counter.stats(result.events.length);
  return result;
}

/** A feature's USER elements: its own, then those inside its USED elements (an empty `<USED/>` holds none). */
function usersOf(feature: Record<string, unknown>): Array<Record<string, unknown>> {
  const used = asArray(feature.USED).filter((u) => typeof u === "object" && u !== null);
  return [...asArray(feature.USER), ...used.flatMap((u) => asArray(u.USER))];
}

/** LICENSE_PATH elements wherever the root puts them (bare, or under a wrapper element). */
function findPaths(node: Record<string, unknown>): Array<Record<string, unknown>> {
  const direct = asArray(node.LICENSE_PATH);
  if (direct.length > 0) return direct;
  for (const child of Object.values(node)) {
    if (child && typeof child === "object" && !Array.isArray(child)) {
      const found = findPaths(child as Record<string, unknown>);
      if (found.length > 0) return found;
    }
  }
  return [];
}

/** One LM-X checkout as either output form prints it. */
export interface LmxHolderText {
  feature: string; version: string; vendor: string; user: string; host: string; count: number;
  login?: string; checkout?: string; borrowed: boolean;
}

/** A borrowed checkout shows only its login time; with no time at all it is held from the snapshot. */
export function lmxHolder(h: LmxHolderText, at: number, zone: string): SnapshotHolder {
  const wall = isoWallTime(h.checkout ?? h.login ?? "");
  return {
    daemon: h.vendor, feature: h.feature, version: h.version, user: h.user, host: h.host, count: h.count,
    start: wall ? wallTimeToUtc(wall, zone) : at,
  };
}
