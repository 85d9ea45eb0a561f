// `collector parse --source KIND --file F [--timezone Z] [--sessions]` (DESIGN.md §9): no state
// needed; prints one JSON `{kind, data}` per line, exactly what `backfill` would append, or with
// `--sessions` one whole session per line; a one-line JSON summary goes to stderr.
// Extra options: `--name N` (data.source, default the kind), `--cut S` (cut_s, default 3600),
// `--at T` (snapshot kinds: ms or RFC 3339; default the file's mtime), `--package-features a,b`.
// `--state` and `--json` are accepted like every command's, and unused.
import { parseArgs } from "node:util";
import type { RecordBody, UsageData } from "../sessions/records.ts";
import { recordsFromFile, SourceConfigError, checkParseFile, type ParseFileOptions } from "../sources/parse-file.ts";

export const parseUsage = "parse --source KIND --file F [--timezone Z] [--sessions] [--name N] [--cut S] [--at T] [--package-features A,B]";

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

interface FeatureSummary { sessions: number; license_seconds: number; denials: number }

export async function parseCommand(argv: string[], io: CommandIo): Promise<number> {
  let opts: ParseFileOptions, kind: string, file: string, sessionsMode: boolean;
  try {
    const { values } = parseArgs({
      args: argv, strict: true, allowPositionals: false,
      options: {
        source: { type: "string" }, file: { type: "string" }, timezone: { type: "string" }, sessions: { type: "boolean" },
        name: { type: "string" }, cut: { type: "string" }, at: { type: "string" }, "package-features": { type: "string" },
        state: { type: "string" }, json: { type: "boolean" },
      },
    });
    if (!values.source || !values.file) throw new SourceConfigError("usage", "usage: parse --source KIND --file F [--timezone Z] [--sessions]");
    kind = values.source;
    file = values.file;
    sessionsMode = values.sessions === true;
    opts = {
      ...(values.name ? { name: values.name } : {}),
      ...(values.timezone ? { timezone: values.timezone } : {}),
      ...(values.cut !== undefined ? { cut_s: integerOption("cut", values.cut) } : {}),
      ...(values.at !== undefined ? { at: instantOption(values.at) } : {}),
      ...(values["package-features"] ? { package_features: values["package-features"].split(",").map((f) => f.trim()).filter(Boolean) } : {}),
    };
    await checkParseFile(kind, file, opts);
  } catch (err) {
    const code = err instanceof SourceConfigError ? err.code : "usage";
    io.stderr.write(JSON.stringify({ error: code, message: (err as Error).message }) + "\n");
    return 2;
  }

  const byFeature: Record<string, FeatureSummary> = {};
  const feature = (f: string) => (byFeature[f] ??= { sessions: 0, license_seconds: 0, denials: 0 });
  const seen = new Set<string>();
  const open = new Map<string, UsageData>();
  let records = 0;
  let done: Parameters<NonNullable<ParseFileOptions["onDone"]>>[0] | undefined;
  for await (const r of recordsFromFile(kind, file, { ...opts, onDone: (s) => { done = s; } })) {
    records++;
    tally(r, feature, seen);
    if (!sessionsMode) await write(io.stdout, JSON.stringify(r) + "\n");
    else if (r.kind === "usage") {
      const s = open.get(r.data.session);
      const whole = s ? { ...s, end: r.data.end, final: r.data.final } : { ...r.data };
      if (whole.final) {
        open.delete(whole.session);
        await write(io.stdout, JSON.stringify(whole) + "\n");
      } else open.set(whole.session, whole);
    }
  }
  for (const s of open.values()) await write(io.stdout, JSON.stringify(s) + "\n");
  const totals = Object.values(byFeature).reduce((a, f) => ({ sessions: a.sessions + f.sessions, license_seconds: a.license_seconds + f.license_seconds, denials: a.denials + f.denials }), { sessions: 0, license_seconds: 0, denials: 0 });
  io.stderr.write(JSON.stringify({
    source: kind, file, records, ...totals, by_feature: byFeature,
    lines: done?.source.lines ?? 0, unknown_lines: done?.source.unknown_lines ?? 0, unknown_samples: done?.source.unknown_samples ?? [],
    undated_lines: done?.source.undated_lines ?? 0, package_lines: done?.source.package_lines ?? 0, ignored_lines: done?.source.ignored_lines ?? 0,
    orphan_checkins: done?.tracker.orphan_checkins ?? 0, zero_length_sessions: done?.tracker.zero_length_sessions ?? 0,
  }) + "\n");
  return 0;
}

function tally(r: RecordBody, feature: (f: string) => FeatureSummary, seen: Set<string>): void {
  if (r.kind === "usage") {
    const f = feature(r.data.feature);
    if (!seen.has(r.data.session)) {
      seen.add(r.data.session);
      f.sessions++;
    }
    f.license_seconds += ((r.data.end - r.data.start) / 1000) * r.data.count;
  } else if (r.kind === "denial") feature(r.data.feature).denials++;
}

async function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (!stream.write(text)) await new Promise<void>((resolve) => stream.once("drain", () => resolve()));
}

function integerOption(name: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new SourceConfigError("usage", `--${name} must be a positive integer`);
  return n;
}

function instantOption(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n) || !/^\d+$|[Zz]$|[+-]\d{2}:\d{2}$/.test(text)) throw new SourceConfigError("usage", `--at must be ms since the epoch or RFC 3339 with an offset`);
  return n;
}
