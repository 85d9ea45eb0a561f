// FlexLM debug-log parse throughput (lines/s) — source, session tracker, records taken in batches —
// on a large generated log, beside the baseline of just reading the same file and splitting it into
// lines: on one thread, with the parse worker `parse` uses (line-parse-worker.ts), and as `backfill`
// and the daemon's first start read a big file: LineReader's bounded steps with the step worker
// (daemon/step-worker.ts), saved state made at every step, without the log writes. Size: BENCH_DEBUGLOG_MB (default 1024, the 1 GB; generating and
// reading it takes minutes; use e.g. 100 for a quick run). The parse streams:
// peak RSS (in the notes) stays flat whatever the size.
//
// The log is what an MLM server in Europe/Madrid writes: wall-clock times (DST both ways included),
// TIMESTAMP lines every 6 h, ~100 licenses held at a time, OUT/IN pairs of a few minutes to a few
// hours, user names with spaces and UTF-8, denials, UNSUPPORTED and SLOG noise.
import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { LineFile, readAndSplit } from "../line-file.ts";
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import { zoneOffsetMs } from "../../shared/time/zoned.ts";
import { recordBatchesFromFile } from "../../collector/sources/parse-file.ts";
import { LineReader } from "../../collector/daemon/line-reader.ts";
import { BLOCK_BYTES } from "../../collector/sources/line-blocks.ts";

const SEED = Number(process.env.SEED ?? 42);
const ZONE = "Europe/Madrid";
/** A site's size: distinct users (on `hosts` machines), features, and `held`: about twice the licenses held at a time. */
interface Site { users: number; hosts: number; features: number; held: number }
const DEFAULT_SITE: Site = { users: 400, hosts: 97, features: 5, held: 200 };
const SITE: Site = {
  users: Number(process.env.BENCH_DEBUGLOG_USERS ?? DEFAULT_SITE.users), hosts: Number(process.env.BENCH_DEBUGLOG_HOSTS ?? DEFAULT_SITE.hosts),
  features: Number(process.env.BENCH_DEBUGLOG_FEATURES ?? DEFAULT_SITE.features), held: Number(process.env.BENCH_DEBUGLOG_HELD ?? DEFAULT_SITE.held),
};
/** A big site's log, read as `backfill` reads it: ~2,000 licenses held at once, every hourly cut ~2,000
 *  intervals (some three records a line), users and features paired at random (the worst for the caches). */
const BIG_SITE: Site = { users: 5000, hosts: 1250, features: 100, held: 4000 };

/** Writes about `bytes` of log; returns its line count. */
export async function generate(file: string, bytes: number, site: Site = SITE): Promise<number> {
  const rand = mulberry32(SEED);
  const named = ["MATLAB", "SIMULINK", "Statistics_Toolbox", "Signal_Toolbox", "Optimization_Toolbox"];
  const features = Array.from({ length: site.features }, (_, i) => named[i] ?? `Feature_${i}`);
  const users = Array.from({ length: site.users }, (_, i) => (i % 17 === 0 ? `José Luis ${i}` : `user${i}`) + `@PC-${i % site.hosts}`);
  const held: string[][] = [];
  const out = await LineFile.create(file);
  let utc = Date.UTC(2022, 0, 1), nextStamp = 0, offsetHour = -1, offset = 0;
  const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  while (out.bytes < bytes) {
    utc += (1 + Math.floor(rand() * 8)) * 1000;
    if (Math.floor(utc / 3_600_000) !== offsetHour) {
      offsetHour = Math.floor(utc / 3_600_000);
      offset = zoneOffsetMs(utc, ZONE);
    }
    const local = new Date(utc + offset);
    const h = local.getUTCHours();
    const t = `${h < 10 ? " " : ""}${h}:${two(local.getUTCMinutes())}:${two(local.getUTCSeconds())}`;
    if (utc >= nextStamp) {
      out.push(`${t} (MLM) TIMESTAMP ${local.getUTCMonth() + 1}/${local.getUTCDate()}/${local.getUTCFullYear()}`);
      nextStamp = utc + 6 * 3_600_000;
    }
    const r = rand();
    if (r < 0.8 * (1 - held.length / site.held) || held.length === 0) {
      const f = features[Math.floor(rand() * rand() * features.length)]!, u = users[Math.floor(rand() * users.length)]!;
      held.push([f, u]);
      out.push(`${t} (MLM) OUT: "${f}" ${u}  `);
    } else if (r < 0.8) {
      const [f, u] = held.splice(Math.floor(rand() * held.length), 1)[0]!;
      out.push(`${t} (MLM) IN: "${f}" ${u}  `);
    } else if (r < 0.85) out.push(`${t} (MLM) DENIED: "MATLAB" ${users[Math.floor(rand() * users.length)]}  (Licensed number of users already reached. (-4,342))`);
    else if (r < 0.9) out.push(`${t} (MLM) UNSUPPORTED: "MATLAB" (BF04C1B183DD400E147F) ${users[Math.floor(rand() * users.length)]}  (No such feature exists. (-5,346))`);
    else out.push(`${t} (MLM) (@MLM-SLOG@) 00000000 ms at Thu Jul 07 2022 08:13:38 Hora de verano romance,#42,(9476K),(Alumno,B16,880)`);
    if (out.pending >= 10_000) await out.flush();
  }
  await out.close();
  return out.lines;
}

/** The site in a figure's notes, when it is not the default one. */
function siteNote(site: Site): string {
  const asDefault = (Object.keys(DEFAULT_SITE) as Array<keyof Site>).every((k) => site[k] === DEFAULT_SITE[k]);
  return asDefault ? "" : `, ${site.users} users on ${site.hosts} hosts, ${site.features} features, ~${site.held / 2} held`;
}

export default async function (): Promise<BenchFigure[]> {
  const mb = Number(process.env.BENCH_DEBUGLOG_MB ?? 1024);
  const bigMb = Number(process.env.BENCH_DEBUGLOG_BIG_SITE_MB ?? 100);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-debuglog-"));
  const file = join(dir, "lmgrd.log");
  try {
    const lines = await generate(file, mb * 1024 * 1024);

    const splitRate = async (highWaterMark: number) => {
      const { lines: split, ms } = await readAndSplit(file, highWaterMark);
      return split / (ms / 1000);
    };
    const baseline = await splitRate(1 << 20);
    // The parse reads 64 KiB blocks (line-blocks.ts); splitting in reads of that size is much faster
    // too, so the ratio against it is the one that says what parsing itself costs.
    const blockBaseline = await splitRate(BLOCK_BYTES);

    // The splitting #11 measured against (2,255,679 lines/s there): a string decoder, the carried
    // rest glued to each chunk, split. Kept beside the splitter the parse now uses, which is faster.
    // Measured again just before each parse: this machine's speed drifts by a fifth over the minutes
    // a 1 GB run takes (the same parse, run after run: 2.9–3.8 s of CPU on 150 MB), so a baseline
    // from the start of the run made the last figure's ratio swing with the drift, not the parse.
    const gluedRate = async () => {
      const t = performance.now();
      let glued = 0, rest = "";
      const decoder = new StringDecoder("utf8");
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
        const lines = (rest + decoder.write(chunk as Buffer)).split("\n");
        rest = lines.pop()!;
        glued += lines.length;
      }
      return glued / ((performance.now() - t) / 1000);
    };

    // One thread (as `backfill` reads), then the worker thread `parse` uses on a large file while a
    // core is spare (parse-file.ts): both, whatever the load; then backfill's steps. Each beside the
    // same two splitters' baselines and its own string-decoder baseline.
    const figures: BenchFigure[] = [];
    let firstRecords = 0;
    for (const thread of ["never", "always", "steps"] as const) {
      const gluedBaseline = await gluedRate();
      const load = loadavg()[0]!.toFixed(1);
      const t0 = performance.now();
      let records = 0;
      if (thread === "steps") records = await readInSteps(file);
      else for await (const batch of recordBatchesFromFile("flexlm-debuglog", file, { timezone: ZONE, thread })) records += batch.length;
      const parse = lines / ((performance.now() - t0) / 1000);
      if (thread !== "never" && records !== firstRecords) throw new Error(`${thread}: ${records} records, one thread gave ${firstRecords}`);
      if (thread === "never") firstRecords = records;
      const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      const how = { never: "one thread", always: "worker thread (parse)", steps: "backfill's steps on the step worker" }[thread];
      const name = `flexlm debug-log parse (source + session tracker), ${how}`;
      const notes = `${mb} MB, ${lines.toLocaleString("en-US")} lines, ${records.toLocaleString("en-US")} records, peak RSS so far ${rssMb} MB, load ${load}, seed ${SEED}${siteNote(SITE)}`;
      figures.push(
        throughputFigure(name, "lines/s", parse, "read + split into lines, 1 MiB reads", baseline, notes),
        throughputFigure(name, "lines/s", parse, "read + split into lines, 64 KiB reads", blockBaseline, notes),
        throughputFigure(name, "lines/s", parse, "read + split, string decoder (as #11 measured), just before", gluedBaseline, notes),
      );
    }
    if (bigMb > 0) {
      // A big site's log (BIG_SITE) as `backfill` reads it, beside the string-decoder split of that
      // file: some three records a line, so its lines/s is not the default log's; records/s in the notes.
      await rm(file);
      const bigLines = await generate(file, bigMb * 1024 * 1024, BIG_SITE);
      const gluedBaseline = await gluedRate();
      const load = loadavg()[0]!.toFixed(1);
      const t0 = performance.now();
      const records = await readInSteps(file);
      const seconds = (performance.now() - t0) / 1000;
      const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
      const notes = `${bigMb} MB, ${bigLines.toLocaleString("en-US")} lines, ${records.toLocaleString("en-US")} records (${Math.round(records / seconds).toLocaleString("en-US")} records/s), peak RSS so far ${rssMb} MB, load ${load}, seed ${SEED}${siteNote(BIG_SITE)}`;
      figures.push(throughputFigure("flexlm debug-log parse, a big site's log, backfill's steps on the step worker", "lines/s", bigLines / seconds, "read + split, string decoder (as #11 measured), just before", gluedBaseline, notes));
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The file read as `backfill` reads a big file (file-import.ts), without the writes: bounded steps on
 *  the step worker, records taken as each slice completes them, the state made after each step. */
async function readInSteps(file: string): Promise<number> {
  const reader = LineReader.open("flexlm-debuglog", "flexlm-debuglog", file, { timezone: ZONE, encoding: "utf-8", cut_s: 3600 }, undefined, { thread: true });
  let records = 0;
  try {
    const count = (bodies: unknown[]) => void (records += bodies.length); // as backfill stages them
    for (;;) {
      const step = await reader.read(undefined, undefined, count);
      records += step.bodies.length;
      reader.stateApart();
      if (step.caughtUp) break;
    }
    await reader.readRest();
    reader.finish();
    do records += reader.take().length;
    while (reader.queued);
  } finally {
    await reader.close();
  }
  return records;
}
