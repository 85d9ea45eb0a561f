// The time zone a file is read in by `parse` and `backfill` (zoneOfFile): --timezone, else the clock
// the file states (a FlexLM debug log's zone name, an RLM report log's TIMEZONE offset), else this
// machine's — and what the summary says of it (`timezone_from`, `timezone_stated…`, `timezone_warning`).
import { localTimeZone, zoneOffsetMs } from "../../shared/time/zoned.ts";
import { SourceConfigError, type ParseFileOptions } from "./parse-file.ts";
import { sourceKinds, type ZoneRead } from "./registry.ts";
import { clockAgreement, clockDiffers, describeStated, offsetText, WINDOWS_ZONES, type StatedZone } from "./stated-zone.ts";

/**
 * The zone a checked file is read in (`parse`, `backfill`): `opts.timezone` (with a warning when the
 * file states another clock), else the zone the file names (a FlexLM debug log copied from a server
 * elsewhere says where it came from), else this machine's. An RLM report log states an offset
 * instead (rlm-timezone.ts): this machine's zone when it keeps that clock, else the fixed-offset zone
 * an offset without DST is; an offset with DST names no zone, and the file is refused
 * (`timezone_mismatch`) until --timezone names one — read in this machine's zone, its times would
 * be hours off, and backfill's records cannot be taken back.
 */
export async function zoneOfFile(kind: string, file: string, opts: Pick<ParseFileOptions, "timezone" | "encoding">): Promise<ZoneRead> {
  if (sourceKinds[kind]?.offsets) return { timezone: null, timezone_from: "file" };
  const stated = await sourceKinds[kind]?.statesZone?.(file, opts.encoding);
  const said = stated ? statedFields(stated) : {};
  const year = stated?.offset?.year ?? (stated?.at ? new Date(stated.at.utc).getUTCFullYear() : new Date().getUTCFullYear());
  if (opts.timezone) {
    const warning = stated && clockDiffers(stated, opts.timezone, year) ? `the log ${describeStated(stated)}, not the clock of ${opts.timezone}` : undefined;
    return { timezone: opts.timezone, timezone_from: "option", ...said, ...(warning ? { timezone_warning: warning } : {}) };
  }
  const machine = localTimeZone();
  const asMachine: ZoneRead = { timezone: machine, timezone_from: "machine", ...said };
  if (!stated?.offset && !stated?.at) return stated?.zone ? { timezone: stated.zone, timezone_from: "stated", ...said } : asMachine;
  // A clock stated as an offset: RLM's TIMEZONE line, or a debug log's zone named by its offset then
  // (`-05`), which does not say whether the server's zone keeps DST — read in its fixed zone, it says so.
  const agreement = clockAgreement(stated, machine, year);
  if (agreement === "same") return asMachine;
  if (agreement === "standard_at_start") {
    const fixed = stated.zone ? `--timezone ${stated.zone}` : "--timezone";
    return { ...asMachine, timezone_warning: `the log ${describeStated(stated)} at a START on standard time: read in ${machine}, which keeps daylight saving time; if the server keeps none, give ${fixed}` };
  }
  if (stated.zone) {
    const unsure = stated.at ? { timezone_warning: `the log names its zone only by its offset then ("${stated.name}"): read in ${stated.zone}, which keeps none; if the server's zone keeps daylight saving time, give it with --timezone` } : {};
    return { timezone: stated.zone, timezone_from: "stated", ...said, ...unsure };
  }
  const daylight = stated.offset?.daylight === true;
  const like = daylight ? daylightZones(stated.offset!.ms, year) : [];
  const why = daylight ? "a zone with daylight saving time cannot be told from its offset" : `no zone read here keeps that offset all through ${year}`;
  const give = `give the server's zone with --timezone${like.length > 0 ? ` (one with that clock: ${like.join(", ")}…)` : ""}`;
  throw new SourceConfigError("timezone_mismatch", `${file} ${describeStated(stated)}, not this machine's clock (${machine}): ${why}; ${give}, or --timezone ${machine} to read it so anyway`);
}

function statedFields(stated: StatedZone): Partial<ZoneRead> {
  const o = stated.offset;
  return { timezone_stated: stated.name, timezone_stated_zone: stated.zone, ...(o ? { timezone_stated_offset: offsetText(o.ms), timezone_stated_daylight: o.daylight } : {}) };
}

/** A few zones (Windows' `001` zones) whose standard time is UTC+`ms` and that keep DST: examples for a message. */
function daylightZones(ms: number, year: number): string[] {
  const out = new Set<string>();
  for (const zone of Object.values(WINDOWS_ZONES)) {
    const [jan, jul] = [zoneOffsetMs(Date.UTC(year, 0, 15), zone), zoneOffsetMs(Date.UTC(year, 6, 15), zone)];
    if (Math.min(jan, jul) === ms && jan !== jul) out.add(zone);
    if (out.size === 3) break;
  }
  return [...out];
}
