// `collector parse --source KIND --file F [--timezone Z] [--sessions]` (DESIGN.md §9): no state
// needed; prints one JSON `{kind, data}` per line, exactly what `backfill` would append, or with
// `--sessions` one whole session per line; a one-line JSON summary goes to stderr.
// Extra options: `--name N` (data.source, default the kind), `--cut S` (cut_s, default 3600),
// `--at T` (snapshot kinds: ms or RFC 3339; overrides the time the output states, which otherwise
// wins over the file's mtime), `--package-features a,b`, `--encoding E` (the file's, as backfill's).
// `--state` and `--json` are accepted like every command's, and unused.
//
// Summary: the time zone the file was read in and `timezone_from` (`option`; `stated`: the zone a
// FlexLM debug log names, stated-zone.ts — the fixed-offset zone, with a `timezone_warning`, for a
// name that is an offset (`-05`) this machine's zone did not keep then — or the fixed-offset zone an
// RLM report log's TIMEZONE line without DST states, rlm-timezone.ts; `machine`: this machine's zone, a guess for a file copied
// from elsewhere unless the log states its clock; `file`: jsonl's own offsets), with `timezone_stated`
// and `timezone_stated_zone` when the log names one (RLM: also `timezone_stated_offset` and
// `timezone_stated_daylight`), also beside --timezone, with `timezone_warning` when --timezone keeps
// another clock than the log states. An RLM log that states an offset with DST other than this
// machine's clock, read without --timezone, is refused (`timezone_mismatch`: no zone can be told);
// records, sessions, license_seconds and denials in total, `by_feature` and (token pools)
// `by_product`; the parser's counters (lines, unknown_lines with samples, undated_lines,
// package_lines, ignored_lines, clock_steps, RLM's shared_checkouts); for snapshots `snapshot_at`, `time_from` (with
// `time_warning` when read at a file's mtime over a day after its latest checkout: a copy's, maybe)
// and `in_use_mismatch` (features whose stated total differs from the lines listed).
import { parseArgs } from "node:util";
import type { RecordBody, UsageData } from "../sessions/records.ts";
import { emptyOption, featureListOption, repeatedOption } from "./command.ts";
import { SOURCE_NAME, SOURCE_NAME_RULE, type ZoneRead } from "../sources/registry.ts";
import { CollectorError } from "../errors.ts";
import { checkParseFile, FILE_REFUSALS, recordBatchesFromFile, snapshotInstant, SourceConfigError, type ParseDone, type ParseFileOptions } from "../sources/parse-file.ts";
import { zoneOfFile } from "../sources/file-zone.ts";

export const parseUsage = "parse --source KIND --file F [--timezone Z] [--sessions] [--name N] [--cut S] [--at T] [--package-features A,B] [--encoding E]";

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const parseOptions = {
  source: { type: "string" }, file: { type: "string" }, timezone: { type: "string" }, sessions: { type: "boolean" },
  name: { type: "string" }, cut: { type: "string" }, at: { type: "string" }, "package-features": { type: "string" }, encoding: { type: "string" },
  state: { type: "string" }, json: { type: "boolean" },
} as const;

interface UsageSummary { sessions: number; license_seconds: number; denials: number }

export async function parseCommand(argv: string[], io: CommandIo): Promise<number> {
  let opts: ParseFileOptions, kind: string, file: string, sessionsMode: boolean, zone: ZoneRead;
  try {
    const { values, tokens } = parseArgs({
      args: argv, strict: true, allowPositionals: false, tokens: true,
      options: parseOptions,
    });
    const repeated = repeatedOption(tokens, parseOptions);
    if (repeated !== undefined) throw new SourceConfigError("usage", repeated);
    const empty = emptyOption(values);
    if (empty !== undefined) throw new SourceConfigError("usage", `option --${empty} needs a value`);
    if (!values.source || !values.file) throw new SourceConfigError("usage", "usage: parse --source KIND --file F [--timezone Z] [--sessions]");
    kind = values.source;
    // As backfill and the run config take it: what parse prints is what backfill would append.
    if (values.name !== undefined && !SOURCE_NAME.test(values.name)) throw new SourceConfigError("usage", `--name must be ${SOURCE_NAME_RULE}, got ${JSON.stringify(values.name)}`);
    file = values.file;
    sessionsMode = values.sessions === true;
    opts = {
      ...(values.name ? { name: values.name } : {}),
      ...(values.timezone ? { timezone: values.timezone } : {}),
      ...(values.encoding !== undefined ? { encoding: values.encoding } : {}),
      ...(values.cut !== undefined ? { cut_s: integerOption("cut", values.cut) } : {}),
      ...(values.at !== undefined ? { at: snapshotInstant(values.at) } : {}),
      ...(values["package-features"] !== undefined ? { package_features: featureListOption(values["package-features"], "package-features") } : {}),
    };
    await checkParseFile(kind, file, opts);
    zone = await zoneOfFile(kind, file, opts);
    if (zone.timezone !== null) opts.timezone = zone.timezone;
  } catch (err) {
    const code = err instanceof SourceConfigError ? err.code : "usage";
    io.stderr.write(JSON.stringify({ error: code, message: (err as Error).message, ...(err instanceof SourceConfigError ? err.details : {}) }) + "\n");
    // The usage line only for a mistake in the command line, not for what the file holds nor for
    // TALLY_PARSE_THREAD (bad_thread).
    if (!FILE_REFUSALS.has(code) && code !== "bad_thread") io.stderr.write(`usage: tally-collector ${parseUsage}\n`);
    return 2;
  }

  const tally = new UsageTally();
  const open = new Map<string, UsageData>();
  let records = 0;
  let done: ParseDone | undefined;
  try {
    for await (const batch of recordBatchesFromFile(kind, file, { ...opts, onDone: (s) => { done = s; } })) {
      records += batch.length;
      let text = "";
      for (const r of batch) {
        tally.add(r);
        if (!sessionsMode) text += JSON.stringify(r) + "\n";
        else if (r.kind === "usage") {
          const s = open.get(r.data.session);
          const whole = s ? { ...s, end: r.data.end, final: r.data.final } : { ...r.data };
          if (whole.final) {
            open.delete(whole.session);
            text += JSON.stringify(whole) + "\n";
          } else open.set(whole.session, whole);
        }
      }
      await write(io.stdout, text);
    }
  } catch (err) {
    // What the file itself makes unreadable (a snapshot time after now): its code, as before a byte was read.
    if (!(err instanceof CollectorError)) throw err;
    io.stderr.write(JSON.stringify({ error: err.code, message: err.message }) + "\n");
    return err.exit;
  }
  let rest = "";
  for (const s of open.values()) rest += JSON.stringify(s) + "\n";
  await write(io.stdout, rest);
  const source = done?.source;
  io.stderr.write(JSON.stringify({
    // The zone the file's times were read in: this machine's is only a guess for a file copied from a server elsewhere.
    source: kind, file, ...zone,
    records, ...tally.totals(), by_feature: tally.byFeature,
    ...(Object.keys(tally.byProduct).length > 0 ? { by_product: tally.byProduct } : {}),
    ...(done?.snapshot ? { snapshot_at: new Date(done.snapshot.at).toISOString(), time_from: done.snapshot.time_from, ...(done.snapshot.time_warning ? { time_warning: done.snapshot.time_warning } : {}), in_use_mismatch: done.snapshot.in_use_mismatch } : {}),
    lines: source?.lines ?? 0, unknown_lines: source?.unknown_lines ?? 0, unknown_samples: source?.unknown_samples ?? [],
    undated_lines: source?.undated_lines ?? 0, package_lines: source?.package_lines ?? 0, ignored_lines: source?.ignored_lines ?? 0,
    clock_steps: source?.clock_steps ?? 0, ...(source?.shared_checkouts ? { shared_checkouts: source.shared_checkouts } : {}),
    orphan_checkins: done?.tracker.orphan_checkins ?? 0, zero_length_sessions: done?.tracker.zero_length_sessions ?? 0,
  }) + "\n");
  return 0;
}

/** Sessions, license-seconds and denials per feature and per product (token pools). */
class UsageTally {
  readonly byFeature: Record<string, UsageSummary> = {};
  readonly byProduct: Record<string, Omit<UsageSummary, "denials">> = {};
  /** Sessions with records but no final one yet: a session is counted at its first record, and
   *  forgotten at its final one (memory stays that of the sessions open, whatever the file's size). */
  private readonly open = new Set<string>();

  add(r: RecordBody): void {
    if (r.kind === "usage") {
      const f = (this.byFeature[r.data.feature] ??= { sessions: 0, license_seconds: 0, denials: 0 });
      const p = r.data.product === undefined ? undefined : (this.byProduct[r.data.product] ??= { sessions: 0, license_seconds: 0 });
      const seconds = ((r.data.end - r.data.start) / 1000) * r.data.count;
      const session = r.data.session;
      if (this.open.has(session)) {
        if (r.data.final) this.open.delete(session);
      } else {
        if (!r.data.final) this.open.add(session);
        f.sessions++;
        if (p) p.sessions++;
      }
      f.license_seconds += seconds;
      if (p) p.license_seconds += seconds;
    } else if (r.kind === "denial") (this.byFeature[r.data.feature] ??= { sessions: 0, license_seconds: 0, denials: 0 }).denials++;
  }

  totals(): UsageSummary {
    const t = { sessions: 0, license_seconds: 0, denials: 0 };
    for (const f of Object.values(this.byFeature)) {
      t.sessions += f.sessions;
      t.license_seconds += f.license_seconds;
      t.denials += f.denials;
    }
    return t;
  }
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text === "") return;
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once("drain", () => resolve()));
}

function integerOption(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new SourceConfigError("usage", `--${name} must be a positive integer`);
  return n;
}

