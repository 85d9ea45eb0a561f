// RLM report log parse throughput (lines/s) — source, session tracker, records taken in batches —
// on one thread, beside the baseline of just reading the same file and splitting it into lines.
// Size: BENCH_REPORTLOG_MB (default 200; a busy site's year of a std report log). Every check-out
// carries its own handle, so each session has a pairing key of its own: the per-key work a debug log
// shares between a holder's sessions is paid per session here.
//
// The log: a std-format report log (FORMATS.md §3.2) of a server in UTC, ~100 licenses held at a
// time, OUT/IN pairs a few seconds to hours apart, 400 users, a share of them in groups that share
// one license (share_handle), a bare timestamp every 10,000 records.
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { LineFile, readAndSplit } from "../line-file.ts";
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import { recordBatchesFromFile } from "../../collector/sources/parse-file.ts";

const SEED = Number(process.env.SEED ?? 42);

/** Writes about `bytes` of report log; returns its line count. */
export async function generate(file: string, bytes: number): Promise<number> {
  const rand = mulberry32(SEED);
  const out = await LineFile.create(file);
  const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  for (const line of ["RLM Report Log Format 0, version 15.1, authenticated", "ISV: acme, RLM version 15.1 BL2", "START licsrv1 01/01/2022 00:00", "TIMEZONE 0 0 # UTC"]) out.push(line);
  let t = Date.UTC(2022, 0, 1), next = 1;
  const open_: Array<{ handle: string; user: number }> = [];
  while (out.bytes < bytes) {
    t += (1 + Math.floor(rand() * 8)) * 1000;
    const d = new Date(t);
    const date = `${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}`, time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
    if (open_.length === 0 || (open_.length < 100 && rand() < 0.5)) {
      const handle = (next++).toString(16), user = Math.floor(rand() * 400);
      // A user's second window on the same host shares the license of the first, when one is open.
      const shared = rand() < 0.2 ? open_.find((o) => o.user === user) : undefined;
      open_.push({ handle, user });
      out.push(`OUT solver 2.0 1 user${user} ws-${user} "" 1 ${open_.length} 0 ${handle} ${shared?.handle ?? 0} 4f2 "" "solver" "2.0" ${date} ${time}.00`);
    } else {
      const { handle, user } = open_.splice(Math.floor(rand() * open_.length), 1)[0]!;
      out.push(`IN 1 solver 2.0 user${user} ws-${user} "" 1 ${open_.length} 0 ${handle} ${date} ${time}`);
    }
    if (out.pending >= 10_000) {
      out.push(`${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${d.getUTCFullYear()} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`);
      await out.flush();
    }
  }
  await out.close();
  return out.lines;
}

export default async function (): Promise<BenchFigure[]> {
  const mb = Number(process.env.BENCH_REPORTLOG_MB ?? 200);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-reportlog-"));
  const file = join(dir, "acme.rl");
  try {
    const lines = await generate(file, mb * 1024 * 1024);
    const { lines: split, ms } = await readAndSplit(file);
    const baseline = split / (ms / 1000);

    const load = loadavg()[0]!.toFixed(1);
    const t0 = performance.now();
    let records = 0;
    for await (const batch of recordBatchesFromFile("rlm-reportlog", file, { timezone: "UTC", thread: "never" })) records += batch.length;
    const parse = lines / ((performance.now() - t0) / 1000);
    const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    return [throughputFigure("rlm report log parse (source + session tracker), one thread", "lines/s", parse, "read + split into lines, 1 MiB reads", baseline,
      `${mb} MB, ${lines.toLocaleString("en-US")} lines, ${records.toLocaleString("en-US")} records, peak RSS ${rssMb} MB, load ${load}, seed ${SEED}`)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
