// The daemon's config file (DESIGN.md §9), checked whole before anything starts, strictly: an
// unknown key at any depth is refused naming its path (exit 2), so a misspelt setting is never
// silently ignored; so is a key given twice in one object (JSON.parse would keep the last), and two
// sources that read the same file or run the same command (every session reported twice).
//   {sources: [{name, kind, file | command, interval_s?, timezone?, encoding?, package_features?,
//               start_at?}], cut_s?, heartbeat_s?, sync_s?, metrics_listen?, privacy?,
//    enforce?: {kind: "flexlm" | "rlm", options_file, reread: [argv…], reread_timeout_s?, features?}}
// `package_features` only for flexlm-debuglog, the one kind that reads it, and `timezone` not for
// jsonl, whose times carry their offset (elsewhere refused, not ignored). `command` is an argv array (no shell). A relative `file` is relative to the config
// file's folder (a service's working directory is rarely the admin's); Windows paths (`C:\\Program Files\\…`,
// backslashes doubled as JSON requires, or forward slashes) are taken as they are.
import { readFile } from "node:fs/promises";
import { dirname, posix, resolve, win32 } from "node:path";
import { z } from "zod";
import { isValidTimeZone, localTimeZone } from "../../shared/time/zoned.ts";
import type { EnforceConfig } from "../enforce/site-enforcer.ts";
import { isOptionsToken } from "../enforce/options-block.ts";
import { CollectorError } from "../errors.ts";
import { packageFeaturesProblem, SOURCE_NAME, SOURCE_NAME_RULE, sourceKinds, timezoneProblem } from "../sources/registry.ts";
import { encodingProblem, lineEncodingProblem } from "../sources/tail-chunk.ts";

export interface SourceConfig {
  name: string;
  kind: string;
  file?: string;
  command?: string[];
  interval_s: number;
  timezone: string;
  /** Whether the config names the zone: this machine's is otherwise a default, checked against the zone a log names (daemon-source.ts). */
  timezone_given: boolean;
  encoding: string;
  /** Whether the config names the encoding: utf-8 is otherwise a default, checked against a log's start (daemon-source.ts). */
  encoding_given: boolean;
  package_features?: string[];
  /** Where a log file never read before is first read from. */
  start_at: "beginning" | "end";
}

export interface RunConfig {
  sources: SourceConfig[];
  /** Open sessions are reported at least at every multiple of cut_s (DESIGN.md §4; default 3600). */
  cut_s: number;
  heartbeat_s: number;
  /** How often to sync while the edge answers (default 60 s; backs off while it does not). */
  sync_s: number;
  /** `host:port` serving Prometheus text at /metrics. */
  metrics_listen?: { host: string; port: number };
  /** `pseudonymise` unset: as this state dir did before (SitePolicy.load). */
  privacy: { pseudonymise?: boolean };
  /** Site-side enforcement (collector/enforce/), opt-in. */
  enforce?: EnforceConfig;
}

const seconds = z.int().min(1).max(365 * 86_400);
const sourceSchema = z.strictObject({
  name: z.string().regex(SOURCE_NAME, `must be ${SOURCE_NAME_RULE}`),
  kind: z.string().refine((k) => k in sourceKinds, `must be one of ${Object.keys(sourceKinds).join(", ")}`),
  file: z.string().min(1).optional(),
  command: z.array(z.string()).min(1).optional(),
  interval_s: seconds.optional(),
  timezone: z.string().refine(isValidTimeZone, "is not an IANA time zone").optional(),
  encoding: z.string().optional(),
  package_features: z.array(z.string().min(1)).optional(),
  start_at: z.enum(["beginning", "end"]).optional(),
});
const configSchema = z.strictObject({
  sources: z.array(sourceSchema).min(1, "needs at least one source"),
  cut_s: seconds.optional(),
  heartbeat_s: seconds.optional(),
  sync_s: seconds.optional(),
  metrics_listen: z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "must be host:port, e.g. 127.0.0.1:9464").optional(),
  privacy: z.strictObject({ pseudonymise: z.boolean().optional() }).optional(),
  enforce: z.strictObject({
    kind: z.enum(["flexlm", "rlm"], "must be \"flexlm\" or \"rlm\""),
    options_file: z.string().min(1, "must name the vendor daemon's options file"),
    reread: z.array(z.string().min(1)).min(1, "must be the reread command as an argv array, e.g. [\"lmreread\", \"-c\", \"/opt/flexlm/license.dat\"]"),
    reread_timeout_s: z.int().min(1).max(600).optional(),
    features: z.array(z.string().refine(isOptionsToken, "is not a feature name an options file can hold")).min(1).max(500).optional(),
  }).optional(),
});

const bad = (message: string): never => { throw new CollectorError("bad_config", message); };

export async function loadRunConfig(path: string): Promise<RunConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    return bad(`cannot read config ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    const hint = /\\[^"\\/bfnrtu]/.test(text) ? " (a backslash in a JSON string must be doubled — \"C:\\\\Program Files\\\\…\" — or use forward slashes)" : "";
    return bad(`${path} is not JSON: ${(e as Error).message}${hint}`);
  }
  const repeated = repeatedKey(text);
  if (repeated !== null) bad(`key ${pathText(repeated)} is given twice (JSON keeps the last, silently): give it once`);
  return checkRunConfig(raw, dirname(resolve(path)));
}

/** Validates a parsed config; relative files are resolved against `baseDir`. */
export function checkRunConfig(raw: unknown, baseDir = process.cwd()): RunConfig {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // A misspelt key also makes its right spelling "missing": name the misspelling.
    const issue = parsed.error.issues.find((i) => i.code === "unrecognized_keys") ?? parsed.error.issues[0]!;
    const at = pathText(issue.path);
    if (issue.code === "unrecognized_keys") bad(`unknown key ${pathText([...issue.path, issue.keys[0]!])} (a misspelt setting is never ignored)`);
    bad(`${at || "config"}: ${issue.message}`);
  }
  const c = parsed.data!;
  const names = new Set<string>();
  /** What each source reads (its file, or its command's argv), to the first source that reads it. */
  const origins = new Map<string, string>();
  const sources = c.sources.map((s, i): SourceConfig => {
    const at = `sources[${i}]`;
    if (names.has(s.name)) bad(`${at}.name ${s.name} is used twice`);
    names.add(s.name);
    const shape = sourceKinds[s.kind]!.shape;
    if ((s.file === undefined) === (s.command === undefined)) bad(`${at} needs exactly one of file or command`);
    if (shape === "lines" && s.command !== undefined) bad(`${at}: ${s.kind} reads a log file; give file, not command`);
    if (shape === "snapshot" && s.start_at !== undefined) bad(`${at}.start_at: only for log files (${s.kind} is polled)`);
    const packages = s.package_features === undefined ? null : packageFeaturesProblem(s.kind);
    if (packages) bad(`${at}.package_features: ${packages}`);
    const zone = s.timezone === undefined ? null : timezoneProblem(s.kind);
    if (zone) bad(`${at}.timezone: ${zone}`);
    // Two sources reading one log (or running one command) report each session twice, under two
    // source names the edge cannot tell apart from two servers: billed twice.
    const origin = sourceOrigin(s.file !== undefined ? { file: absoluteFile(s.file, baseDir) } : { command: s.command! });
    const first = origins.get(origin);
    if (first !== undefined) bad(`${at} reads the same ${origin.split(" ")[0]} as source ${first} (${origin.slice(origin.indexOf(" ") + 1)}): each session would be reported twice`);
    origins.set(origin, s.name);
    const encoding = s.encoding ?? "utf-8";
    const problem = shape === "lines" ? lineEncodingProblem(encoding) : encodingProblem(encoding);
    if (problem) bad(`${at}.encoding: ${problem}`);
    return {
      name: s.name, kind: s.kind, interval_s: s.interval_s ?? (shape === "lines" ? 10 : 60),
      timezone: s.timezone ?? localTimeZone(), timezone_given: s.timezone !== undefined, encoding, encoding_given: s.encoding !== undefined, start_at: s.start_at ?? "beginning",
      ...(s.file !== undefined ? { file: absoluteFile(s.file, baseDir) } : {}),
      ...(s.command !== undefined ? { command: s.command } : {}),
      ...(s.package_features !== undefined ? { package_features: s.package_features } : {}),
    };
  });
  return {
    sources,
    cut_s: c.cut_s ?? 3600,
    heartbeat_s: c.heartbeat_s ?? 300,
    sync_s: c.sync_s ?? 60,
    privacy: c.privacy?.pseudonymise === undefined ? {} : { pseudonymise: c.privacy.pseudonymise },
    ...(c.metrics_listen !== undefined ? { metrics_listen: listenAddress(c.metrics_listen) } : {}),
    ...(c.enforce !== undefined ? {
      enforce: {
        kind: c.enforce.kind, options_file: absoluteFile(c.enforce.options_file, baseDir), reread: c.enforce.reread,
        reread_timeout_s: c.enforce.reread_timeout_s ?? 60, ...(c.enforce.features ? { features: c.enforce.features } : {}),
      },
    } : {}),
  };
}

/**
 * What a source reads, one way however it is written: `file <path>` (absolute, normalised: `a/../b`
 * is `b`) or `command <argv as JSON>`. Two sources of one config never read the same; a snapshot's
 * state keeps what it polled (snapshot-reader.ts), so a renamed source is known by it.
 */
export function sourceOrigin(source: { file?: string; command?: string[] }): string {
  return source.file !== undefined ? `file ${samePath(source.file)}` : `command ${JSON.stringify(source.command)}`;
}

/** The path of the first key an object of `text` (JSON that JSON.parse took) gives twice, or null. */
export function repeatedKey(text: string): PropertyKey[] | null {
  type Container = { path: PropertyKey[]; keys: Set<string> | null; index: number; key: string | null; expectKey: boolean };
  const stack: Container[] = [];
  const child = (): PropertyKey[] => {
    const top = stack.at(-1);
    return top === undefined ? [] : [...top.path, top.keys ? top.key! : top.index];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack.at(-1);
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (top?.keys && top.expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) return [...top.path, key];
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === "{" || c === "[") stack.push({ path: child(), keys: c === "{" ? new Set() : null, index: 0, key: null, expectKey: c === "{" });
    else if (c === "}" || c === "]") stack.pop();
    else if (c === "," && top) {
      if (top.keys) top.expectKey = true;
      else top.index++;
    }
  }
  return null;
}

function pathText(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i === 0 ? "" : "."}${String(p)}`)).join("");
}

function absoluteFile(file: string, baseDir: string): string {
  return posix.isAbsolute(file) || win32.isAbsolute(file) ? file : resolve(baseDir, file);
}

/** A path as written another way (`a/../b`, `a//b`) is the same file. */
function samePath(file: string): string {
  return posix.isAbsolute(file) ? posix.normalize(file) : win32.normalize(file);
}

function listenAddress(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(":");
  const port = Number(text.slice(colon + 1));
  if (!Number.isSafeInteger(port) || port < 1 || port > 65_535) bad(`metrics_listen: port ${text.slice(colon + 1)} is not 1–65535`);
  return { host: text.slice(0, colon).replace(/^\[|\]$/g, ""), port };
}
