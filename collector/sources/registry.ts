// Every source kind the collector can read (DESIGN.md §9), by name.
import type { LineSource, SnapshotSource, SourceOptions } from "./events.ts";
import { FlexlmLmstatSource } from "./flexlm-lmstat.ts";
import { RlmRlmstatSource } from "./rlm-rlmstat.ts";
import { LmxSource } from "./lmx.ts";
import { DslsSource } from "./dsls.ts";
import { SentinelLsmonSource } from "./sentinel-lsmon.ts";
import { FlexlmDebugLogSource } from "./flexlm-debuglog.ts";
import { RlmReportLogSource } from "./rlm-reportlog.ts";
import { JsonlSource } from "./jsonl.ts";
import { rlmStatedZoneOfFile } from "./rlm-timezone.ts";
import { statedZoneOfFile, type StatedZone } from "./stated-zone.ts";

// `packages`: the kind reads `package_features`; `offsets`: its times carry their own UTC offset,
// so it reads no time zone (either setting given for a kind that would ignore it is refused);
// `statesZone`: what a file of the kind states of its server's zone, if anything (stated-zone.ts).
type StatesZone = (file: string, encoding?: string) => Promise<StatedZone | undefined>;
export type SourceFactory =
  | { shape: "lines"; create: (opts: SourceOptions) => LineSource; packages?: true; offsets?: true; statesZone?: StatesZone }
  | { shape: "snapshot"; create: (opts: SourceOptions) => SnapshotSource; packages?: true; offsets?: true; statesZone?: StatesZone };

/** A source's name (`data.source`, its state's file name): the same rule for the run config, `backfill` and `parse`. */
export const SOURCE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
export const SOURCE_NAME_RULE = "1–64 of [A-Za-z0-9_.-]";

/** Why a time zone cannot be given for `kind` (its times carry their own offset), or null. */
export function timezoneProblem(kind: string): string | null {
  return sourceKinds[kind]?.offsets ? `${kind} times carry their own UTC offset (it would ignore a time zone)` : null;
}

/** The zone a file is read in and where it came from (parse's summary, backfill's report): with what the file states of its zone, if anything. */
export interface ZoneRead {
  timezone: string | null;
  /** `option`: --timezone; `stated`: the zone the log states (stated-zone.ts); `machine`: this machine's, a guess unless the log states its clock; `file`: jsonl's own offsets. */
  timezone_from: "option" | "stated" | "machine" | "file";
  /** The zone's name as the log writes it (RLM: the TIMEZONE line's fields), and the zone it stands for (null: a name not read, or an offset with DST). */
  timezone_stated?: string;
  timezone_stated_zone?: string | null;
  /** RLM: the stated UTC offset of standard time (`-05:00`) and whether the zone keeps daylight saving time. */
  timezone_stated_offset?: string;
  timezone_stated_daylight?: boolean;
  /** --timezone keeps another clock than the log states (read as --timezone says: the user said so). */
  timezone_warning?: string;
}

/** Why `package_features` cannot be given for `kind` (only the kinds marked `packages` read it), or null. */
export function packageFeaturesProblem(kind: string): string | null {
  const readers = Object.keys(sourceKinds).filter((k) => sourceKinds[k]!.packages);
  return sourceKinds[kind]?.packages ? null : `only ${readers.join(", ")} reads package features (${kind} would ignore them)`;
}

// Each source module adds its entry here (one line per kind).
export const sourceKinds: Record<string, SourceFactory> = {
  "flexlm-lmstat": { shape: "snapshot", create: (opts) => new FlexlmLmstatSource(opts) },
  "rlm-rlmstat": { shape: "snapshot", create: (opts) => new RlmRlmstatSource(opts) },
  lmx: { shape: "snapshot", create: (opts) => new LmxSource(opts) },
  dsls: { shape: "snapshot", create: (opts) => new DslsSource(opts) },
  "sentinel-lsmon": { shape: "snapshot", create: (opts) => new SentinelLsmonSource(opts) },
  "flexlm-debuglog": { shape: "lines", create: (opts) => new FlexlmDebugLogSource(opts), packages: true, statesZone: statedZoneOfFile },
  "rlm-reportlog": { shape: "lines", create: (opts) => new RlmReportLogSource(opts), statesZone: rlmStatedZoneOfFile },
  jsonl: { shape: "lines", create: (opts) => new JsonlSource(opts), offsets: true },
};
