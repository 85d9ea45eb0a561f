// `backfill --source KIND --file F [--timezone Z] [--name N] [--cut S] [--encoding E]
// [--package-features A,B] [--at T]` (the run config's per-source settings of the same names; `--at`,
// a snapshot output's time, as `parse --at`): imports a
// historical log or output file into the chain, once (daemon/file-import.ts): re-running adds
// nothing; a file that grew since adds only what is new, including the rest of sessions still
// open at the end of the earlier import; an import that was interrupted goes on where it stopped —
// in the zone, encoding and package features it began with (others are refused), and a source's
// later snapshot outputs are read in the zone and encoding of its first. Snapshot outputs of a
// source `run` polls under the same name go on with its state (daemon/snapshot-continuation.ts).
// The site's scope applies, and its pseudonyms once `run` made a privacy key (privacy.pseudonymise).
import { stat } from "node:fs/promises";
import { localTimeZone } from "../../shared/time/zoned.ts";
import { SitePolicy } from "../chain/site-policy.ts";
import { importFile } from "../daemon/file-import.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { checkParseFile, FILE_REFUSALS, snapshotInstant, SourceConfigError, type ParseFileOptions } from "../sources/parse-file.ts";
import { zoneOfFile } from "../sources/file-zone.ts";
import { SOURCE_NAME, SOURCE_NAME_RULE, type ZoneRead } from "../sources/registry.ts";
import { featureListOption, integerOption, parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";
import { ImportProgress } from "./progress.ts";

export const backfillUsage = "backfill --source KIND --file F [--timezone Z] [--name NAME] [--cut S] [--encoding E] [--package-features A,B] [--at T] [--state DIR] [--json]";

export async function backfillCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { source: { type: "string" }, file: { type: "string" }, timezone: { type: "string" }, name: { type: "string" }, cut: { type: "string" }, encoding: { type: "string" }, "package-features": { type: "string" }, at: { type: "string" } }, backfillUsage);
  const kind = requireOption(values.source, "source", backfillUsage);
  const file = requireOption(values.file, "file", backfillUsage);
  const cutS = integerOption(values.cut, "cut", 3600, 1);
  const name = values.name ?? kind;
  if (!SOURCE_NAME.test(name)) throw new CollectorError("usage", `--name must be ${SOURCE_NAME_RULE}, got ${JSON.stringify(name)}`);
  const packageFeatures = featureListOption(values["package-features"], "package-features");
  const encoding = values.encoding ?? "utf-8";
  let options: ParseFileOptions;
  let read: ZoneRead;
  try {
    options = { ...(values.timezone ? { timezone: values.timezone } : {}), cut_s: cutS, ...(values.encoding !== undefined ? { encoding } : {}), ...(packageFeatures ? { package_features: packageFeatures } : {}), ...(values.at !== undefined ? { at: snapshotInstant(values.at) } : {}) };
    await checkParseFile(kind, file, options);
    read = await zoneOfFile(kind, file, options);
  } catch (e) {
    if (e instanceof SourceConfigError) throw new CollectorError(FILE_REFUSALS.has(e.code) ? "bad_input" : "usage", e.message, { source_error: e.code, ...e.details });
    throw e;
  }

  const zone = read.timezone ?? localTimeZone(); // jsonl reads none: its saved settings keep this machine's, as before
  const site = await openSite(stateFrom(values, io.env));
  try {
    const sitePolicy = await SitePolicy.load(site.paths, site.identity, {}); // config unsaid: pseudonyms once the site has a key
    const before = site.log.lastSeq();
    const progress = new ImportProgress(io.stderr, (await stat(file)).size);
    const report = await importFile(site, kind, file, {
      name, policy: sitePolicy, ...(options.at !== undefined ? { at: options.at } : {}),
      settings: { timezone: zone, encoding, cut_s: cutS, ...(packageFeatures ? { package_features: packageFeatures } : {}) },
      onProgress: (bytes, parsed, appended) => {
        progress.bytes(bytes);
        progress.records(parsed, appended);
      },
    });
    progress.done();
    const last = site.log.lastSeq();
    const json = { ok: true, source: kind, file, ...read, ...report, first_seq: report.appended ? before + 1 : null, last_seq: last };
    return { exit: 0, json, text: describe(report, before, last) + (report.appended === 0 ? "" : zoneNote(read)) };
  } finally {
    await site.close();
  }
}

/** Where the zone a file was read in came from, when the user should know: this machine's is only a
 *  guess for a file copied from a server elsewhere, and a log may state another zone than --timezone. */
function zoneNote(read: ZoneRead): string {
  const offset = read.timezone_stated_offset;
  if (offset !== undefined) {
    const clock = `UTC${offset} ${read.timezone_stated_daylight ? "with" : "without"} daylight saving time (TIMEZONE ${read.timezone_stated})`;
    if (read.timezone_from === "stated") return `read in ${read.timezone}, as the log states its clock as ${clock}\n`;
    if (read.timezone_from === "machine") return `read in this machine's time zone ${read.timezone}, whose clock the log states: ${clock}\n`;
    return read.timezone_warning ? `read in ${read.timezone} as --timezone says; ${read.timezone_warning}\n` : "";
  }
  const named = read.timezone_stated === undefined ? "" : `the log names its zone "${read.timezone_stated}"`;
  if (read.timezone_from === "stated") return `read in ${read.timezone}, as ${named}${read.timezone_warning ? `; ${read.timezone_warning}` : ""}\n`;
  if (read.timezone_from === "machine" && read.timezone_stated_zone) return `read in this machine's time zone ${read.timezone}, which kept then the offset the log names its zone by ("${read.timezone_stated}")\n`;
  if (read.timezone_from === "machine") return `read in this machine's time zone ${read.timezone}${named ? `; ${named}, not one read here` : ""}: a file from a server in another zone needs --timezone\n`;
  if (read.timezone_from === "option" && read.timezone_stated_zone && read.timezone_stated_zone !== read.timezone) return `read in ${read.timezone} as --timezone says; ${named} (${read.timezone_stated_zone})\n`;
  return "";
}

function describe(r: Awaited<ReturnType<typeof importFile>>, before: number, last: number): string {
  if (r.followed_by) return `${r.followed_by.source} follows this file (read to byte ${r.followed_by.read_to_byte}); the daemon reads the rest: nothing to backfill\n`;
  if (r.already_imported) return "nothing new: this output was imported before\n";
  const scope = r.out_of_scope ? `; ${r.out_of_scope} outside the contract's scope, kept at the site` : "";
  const resumed = r.resumed_from_byte ? ` (went on from byte ${r.resumed_from_byte}, where the last import stopped)` : "";
  const warning = r.time_warning ? `warning: ${r.time_warning}\n` : "";
  return (r.appended ? `appended ${r.appended} records (seq ${before + 1}…${last})${resumed}${scope}\n` : `nothing new${resumed}${scope}\n`) + warning;
}
