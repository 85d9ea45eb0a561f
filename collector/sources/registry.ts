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

export type SourceFactory =
  | { shape: "lines"; create: (opts: SourceOptions) => LineSource; packages?: true }
  | { shape: "snapshot"; create: (opts: SourceOptions) => SnapshotSource; packages?: true };

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
  "flexlm-debuglog": { shape: "lines", create: (opts) => new FlexlmDebugLogSource(opts), packages: true },
  "rlm-reportlog": { shape: "lines", create: (opts) => new RlmReportLogSource(opts) },
  jsonl: { shape: "lines", create: (opts) => new JsonlSource(opts) },
};
