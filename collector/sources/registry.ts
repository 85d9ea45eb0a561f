// Every source kind the collector can read (DESIGN.md §9), by name.
import { localTimeZone } from "../../shared/time/zoned.ts";
import type { LineSource, SnapshotSource, SourceOptions } from "./events.ts";
import { FlexlmLmstatSource } from "./flexlm-lmstat.ts";
import { RlmRlmstatSource } from "./rlm-rlmstat.ts";
import { LmxSource } from "./lmx.ts";
import { DslsSource } from "./dsls.ts";
import { SentinelLsmonSource } from "./sentinel-lsmon.ts";
import { FlexlmDebugLogSource } from "./flexlm-debuglog.ts";
import { RlmReportLogSource } from "./rlm-reportlog.ts";
import { JsonlSource } from "./jsonl.ts";
import type { StatedZone } from "./stated-zone.ts";

// `packages`: the kind reads `package_features`; `offsets`: its times carry their own UTC offset,
// so it reads no time zone (either setting given for a kind that would ignore it is refused);
// `statesZone`: its files may name their zone (stated-zone.ts).
export type SourceFactory =
  | { shape: "lines"; create: (opts: SourceOptions) => LineSource; packages?: true; offsets?: true; statesZone?: true }
  | { shape: "snapshot"; create: (opts: SourceOptions) => SnapshotSource; packages?: true; offsets?: true; statesZone?: true };

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
  /** `option`: --timezone; `stated`: the zone the log names (stated-zone.ts); `machine`: this machine's, a guess; `file`: jsonl's own offsets. */
  timezone_from: "option" | "stated" | "machine" | "file";
  /** The zone's name as the log writes it, and the zone it stands for (null: a name not read). */
  timezone_stated?: string;
  timezone_stated_zone?: string | null;
}

/** The zone a file of `kind` is read in: --timezone, else the zone the file states (`stated`), else this machine's. */
export function zoneRead(kind: string, timezone: string | undefined, stated?: StatedZone): ZoneRead {
  if (sourceKinds[kind]?.offsets) return { timezone: null, timezone_from: "file" };
  const said = stated ? { timezone_stated: stated.name, timezone_stated_zone: stated.zone } : {};
  if (timezone) return { timezone, timezone_from: "option", ...said };
  return stated?.zone ? { timezone: stated.zone, timezone_from: "stated", ...said } : { timezone: localTimeZone(), timezone_from: "machine", ...said };
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
  "flexlm-debuglog": { shape: "lines", create: (opts) => new FlexlmDebugLogSource(opts), packages: true, statesZone: true },
  "rlm-reportlog": { shape: "lines", create: (opts) => new RlmReportLogSource(opts) },
  jsonl: { shape: "lines", create: (opts) => new JsonlSource(opts), offsets: true },
};
