// The daemon's config file (DESIGN.md §9), checked whole before anything starts:
// {sources: [{name, kind, file | command, interval_s, timezone, encoding, package_features?}],
//  cut_s, heartbeat_s, sync_s?, proxy?, privacy?}. `command` is an argv array (no shell).
import { readFile } from "node:fs/promises";
import { isValidTimeZone } from "../../shared/time/zoned.ts";
import { CollectorError } from "../errors.ts";
import { sourceKinds } from "../sources/registry.ts";

export interface SourceConfig {
  name: string;
  kind: string;
  file?: string;
  command?: string[];
  interval_s: number;
  timezone?: string;
  encoding?: string;
  package_features?: string[];
}

export interface RunConfig {
  sources: SourceConfig[];
  cut_s: number;
  heartbeat_s: number;
  /** How often to sync while online (default 60 s). */
  sync_s: number;
}

const bad = (message: string): never => { throw new CollectorError("bad_config", message); };
const positiveInt = (v: unknown, what: string, fallback: number): number => {
  if (v === undefined) return fallback;
  return Number.isSafeInteger(v) && (v as number) >= 1 ? (v as number) : bad(`${what} must be a whole number ≥ 1`);
};

export async function loadRunConfig(path: string): Promise<RunConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    bad(`cannot read config ${path}: ${(e as Error).message}`);
  }
  return checkRunConfig(raw);
}

export function checkRunConfig(raw: unknown): RunConfig {
  const c = raw as Record<string, unknown> | null;
  if (typeof c !== "object" || c === null || !Array.isArray(c.sources) || c.sources.length === 0) bad("config needs a non-empty `sources` list");
  const names = new Set<string>();
  const sources = (c!.sources as unknown[]).map((s, i): SourceConfig => {
    const at = `sources[${i}]`;
    const o = s as Record<string, unknown>;
    if (typeof o?.name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(o.name)) bad(`${at}.name must be 1–64 of [A-Za-z0-9_.-]`);
    if (names.has(o.name as string)) bad(`${at}.name ${o.name} is used twice`);
    names.add(o.name as string);
    const factory = typeof o.kind === "string" ? sourceKinds[o.kind] : undefined;
    if (!factory) bad(`${at}.kind must be one of ${Object.keys(sourceKinds).join(", ")}`);
    if ((o.file === undefined) === (o.command === undefined)) bad(`${at} needs exactly one of file or command`);
    if (o.file !== undefined && typeof o.file !== "string") bad(`${at}.file must be a path`);
    if (o.command !== undefined && (!Array.isArray(o.command) || o.command.length === 0 || !o.command.every((a) => typeof a === "string"))) bad(`${at}.command must be an argv array of strings`);
    if (factory!.shape === "lines" && o.command !== undefined) bad(`${at}: ${o.kind} reads a log file; give file, not command`);
    if (o.timezone !== undefined && (typeof o.timezone !== "string" || !isValidTimeZone(o.timezone))) bad(`${at}.timezone is not an IANA zone`);
    if (o.package_features !== undefined && (!Array.isArray(o.package_features) || !o.package_features.every((f) => typeof f === "string"))) bad(`${at}.package_features must be a list of names`);
    return {
      name: o.name as string, kind: o.kind as string, interval_s: positiveInt(o.interval_s, `${at}.interval_s`, factory!.shape === "lines" ? 10 : 60),
      ...(o.file !== undefined ? { file: o.file as string } : {}),
      ...(o.command !== undefined ? { command: o.command as string[] } : {}),
      ...(o.timezone !== undefined ? { timezone: o.timezone as string } : {}),
      ...(typeof o.encoding === "string" ? { encoding: o.encoding } : {}),
      ...(o.package_features !== undefined ? { package_features: o.package_features as string[] } : {}),
    };
  });
  return {
    sources,
    // An open session is reported at least every 5 minutes by default, so a long checkout shows
    // up in the balance while it runs (DESIGN's protocol default of 3600 applies to `parse`/backfill).
    cut_s: positiveInt(c!.cut_s, "cut_s", 300),
    heartbeat_s: positiveInt(c!.heartbeat_s, "heartbeat_s", 300),
    sync_s: positiveInt(c!.sync_s, "sync_s", 60),
  };
}
