// What a followed log's source checks before it first reads a file from its beginning (daemon-source.ts):
// that the file is not a log the site's states have read (moved, or imported by backfill: it goes on;
// read before by a source since renamed: it fails), and that the defaults would not misread it (its
// kind, encoding, zone). Each refusal is a `bad_config` with its reason, retried and shown in status. Which state
// read a log (`stateThatRead`) is backfill's question too (file-import.ts `earlierReader`).
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { CollectorError } from "../errors.ts";
import { kindInConfig, kindProblem } from "../sources/kind-check.ts";
import { fileHead, notUtf8InConfig, startsAsUtf8 } from "../sources/parse-file.ts";
import { sourceKinds } from "../sources/registry.ts";
import { clockDiffers, describeStated } from "../sources/stated-zone.ts";
import { prefixMatcher, startsWith, type Fingerprint } from "./file-fingerprint.ts";
import { continuedIn, type LineReadState } from "./line-reader.ts";
import type { SourceConfig } from "./run-config.ts";
import { listSourceStates, settledState, sourcesDir } from "./source-journal.ts";

/** What a state must have read of a log for another path's file that starts with those bytes to be
 *  taken for the same log (moved, or read before): a log's first line alone (`0:00:00 (MLM) TIMESTAMP
 *  3/3/2025`) starts every log of that server begun that day. */
export const SAME_LOG_BYTES = 1024;

/**
 * The state of a log the config now names by another path (moved, or reached by another name):
 * when this file still starts with what the state read, it goes on where it stopped, as backfill's
 * import does; read from its beginning, it would report its history again. Else the state as it was.
 */
export async function movedLog(c: SourceConfig, state: LineReadState): Promise<LineReadState> {
  const file = c.file!;
  if (state.kind !== c.kind || !state.fingerprint || state.fingerprint.bytes < SAME_LOG_BYTES) return state;
  try {
    return (await startsWith(file, state.fingerprint)) ? await continuedIn(state, file) : state;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return state;
    throw e;
  }
}

/**
 * The first state of a line source in a state dir (the daemon's `<name>.json`, backfill's
 * `<name>@<id>.json`; those `accept` takes) of `kind` that read the start of `file`, at least `minBytes`
 * of it — the file starts with the bytes its fingerprint hashed — with its file name and path; or undefined.
 */
export async function stateThatRead<S extends { kind: string; fingerprint?: Fingerprint }>(
  stateDir: string, kind: string, file: string, accept: (entry: string) => boolean, minBytes = 1,
): Promise<{ entry: string; path: string; state: S } | undefined> {
  for await (const read of statesThatRead<S>(stateDir, kind, file, accept, minBytes)) return read;
  return undefined;
}

/** Every state `stateThatRead` would accept, in the order of their file names. */
export async function* statesThatRead<S extends { kind: string; fingerprint?: Fingerprint }>(
  stateDir: string, kind: string, file: string, accept: (entry: string) => boolean, minBytes: number,
): AsyncGenerator<{ entry: string; path: string; state: S }> {
  const matches = await prefixMatcher(file);
  for (const entry of await listSourceStates(stateDir)) {
    if (entry.endsWith("@snapshots.json") || !accept(entry)) continue;
    const path = join(sourcesDir(stateDir), entry);
    const state = await settledState<S>(path);
    if (state?.kind === kind && state.fingerprint && state.fingerprint.bytes >= minBytes && matches(state.fingerprint)) yield { entry, path, state };
  }
}

/**
 * A `backfill` of the log a source is about to read from its beginning (under any `--name`): the
 * source goes on from where that import stopped (daemon-source.ts moves its state to the source's
 * name, as a renamed snapshot source's), instead of failing as read before and leaving the user to
 * start at the log's end — which lost the lines written between the import and the daemon's first
 * read. Of several imports of the log, the one that read furthest. Only an import that read at least
 * SAME_LOG_BYTES of the log counts.
 */
export async function backfilledLog(stateDir: string, c: SourceConfig): Promise<{ entry: string; path: string; state: LineReadState } | undefined> {
  if ((await backlogBytes(c.file!, 0)) === 0) return undefined;
  let found: { entry: string; path: string; state: LineReadState } | undefined;
  for await (const read of statesThatRead<LineReadState>(stateDir, c.kind, c.file!, (entry) => entry.includes("@"), SAME_LOG_BYTES)) {
    if (found === undefined || (read.state.tail?.offset ?? 0) > (found.state.tail?.offset ?? 0)) found = read;
  }
  return found === undefined ? undefined : { ...found, state: await continuedIn(found.state, c.file!) };
}

/**
 * A log about to be read from its beginning that another state of this site already read — a source
 * since renamed, or a `backfill` — would be reported again: each session a second time, under ids of
 * another source name, so billed twice. The source fails instead (bad_config, reason read_before;
 * retried, shown in status), naming the state, until the config keeps the old name or starts the log
 * at its end. Only a state that read at least SAME_LOG_BYTES of the log counts: less is no identity.
 */
export async function checkNotReadBefore(stateDir: string, c: SourceConfig): Promise<void> {
  if ((await backlogBytes(c.file!, 0)) === 0) return;
  const found = await stateThatRead<LineReadState>(stateDir, c.kind, c.file!, (entry) => entry !== `${c.name}.json`, SAME_LOG_BYTES);
  if (found === undefined) return;
  const { entry, state } = found;
  const at = entry.indexOf("@");
  const by = at < 0 ? `source ${entry.slice(0, -".json".length)}` : `backfill (source ${entry.slice(0, at)})`;
  const fix = at < 0
    ? `give the source its old name (${entry.slice(0, -".json".length)}) back, or set "start_at": "end" to read only what comes next`
    : `set "start_at": "end" to read only what comes next (backfill the file once more first: it imports only what was written since)`;
  throw new CollectorError("bad_config", `${c.file} was read before by ${by}, to byte ${state.tail?.offset ?? 0}: read from its beginning as source ${c.name}, its history would be reported again (each session twice). ${fix[0]!.toUpperCase()}${fix.slice(1)}`, { reason: "read_before", source: c.name });
}

/**
 * Before a log is first read with the defaults, what they would misread, silently. The encoding:
 * a Windows license server writes its log in the ANSI code page, and read as UTF-8 its accented names
 * would all turn into U+FFFD (two users into one), so its start must be UTF-8. The zone: a log
 * that names its server's zone or states its clock (stated-zone.ts; an RLM report log's TIMEZONE
 * offset, rlm-timezone.ts) must state this machine's clock — a log read from another machine's
 * share would be read hours off. The source fails instead (retried,
 * shown in status) until the config names the setting, as `parse` and `backfill` refuse a file
 * not in UTF-8 and read a log in the zone it names. False: the log has no bytes yet (or is not
 * there), nothing was judged — ask again once it has.
 */
export async function checkFirstRead(c: SourceConfig, clock: () => number): Promise<boolean> {
  if ((await backlogBytes(c.file!, 0)) === 0) return false;
  if (!c.encoding_given && !(await startsAsUtf8(c.file!, false))) {
    throw notUtf8InConfig(c.file!, c.name);
  }
  // A log configured as the wrong kind would be read as lines of no meaning: nothing billed, and its
  // offset saved past them (the right kind given later would start after all it holds).
  const problem = kindProblem(c.kind, await fileHead(c.file!), c.encoding, c.file!);
  if (problem) throw kindInConfig(problem, c.name);
  if (c.timezone_given) return true;
  const stated = await sourceKinds[c.kind]?.statesZone?.(c.file!, c.encoding);
  if (stated && clockDiffers(stated, c.timezone, stated.offset?.year ?? new Date(clock()).getUTCFullYear())) {
    const zone = stated.zone ? `"${stated.zone}"` : "the server's IANA zone";
    throw new CollectorError("bad_config", `${c.file} ${describeStated(stated)}, whose clock is not this machine's (${c.timezone}): give the source's timezone in the config (sources[].timezone: ${zone}, or "${c.timezone}" to read it so anyway)`, { reason: "timezone_mismatch", source: c.name });
  }
  return true;
}

/** Bytes of `file` past `offset` (0 when it is not there). */
export async function backlogBytes(file: string, offset: number): Promise<number> {
  try {
    return Math.max(0, (await stat(file)).size - offset);
  } catch {
    return 0;
  }
}
