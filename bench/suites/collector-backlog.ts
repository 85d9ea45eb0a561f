// First start of the daemon on a big existing log (issue #12): `run --once` on a fresh state reads
// the whole FlexLM debug log in bounded chunks, signs and chains every record, appends it fsync'd
// with the read position — beside the baseline of `parse` on the same file (parser + session
// tracker, one JSON line per record to /dev/null). Both are the bundled collector
// (dist-style, as sites run it), each a process of its own, with its peak RSS in the notes. Goal:
// ratio ≥ 0.7. `run` reads on one thread (TALLY_PARSE_THREAD=never, as #12 measured it) and, beside
// it, with the step worker it uses on a big backlog while a core is spare (daemon/step-worker.ts,
// TALLY_PARSE_THREAD=always), each against the one-thread `parse`. Two logs: usage-dense (a checkout every 3 lines, ≈ 0.4 records a line — real
// debug logs range from 0.01 to 3.5) and noise-heavy (a checkout every 30 lines: statistics and
// refused requests between them). Size of each: BENCH_BACKLOG_MB (default 1024, the 1 GB;
// e.g. 100 for a quick run). Each command runs BENCH_BACKLOG_RUNS times (default 2), alternately,
// and the fastest counts, so a burst of load on the shared machine does not decide the ratio.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleCollector } from "../../test/support/collector-process.ts";
import { writeBacklogLog } from "../../test/support/backlog-log.ts";
import { freePort } from "../../test/support/local-edge.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";

/** Each command runs this many times, alternately, and the fastest counts (the machine is shared). */
const RUNS = Number(process.env.BENCH_BACKLOG_RUNS ?? 2);

export default async function (): Promise<BenchFigure[]> {
  const mb = Number(process.env.BENCH_BACKLOG_MB ?? 1024);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-backlog-"));
  try {
    const script = await bundleCollector(dir);
    // Records RSS at exit, from inside the process (a child's peak RSS is not visible otherwise).
    const probe = join(dir, "rss-probe.mjs");
    await writeFile(probe, 'import { writeFileSync } from "node:fs"; process.on("exit", () => writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)));\n');
    const figures: BenchFigure[] = [];
    for (const [mix, linesPerSession] of [["usage-dense", 3], ["noise-heavy", 30]] as const) {
      const file = join(dir, `${mix}.log`);
      const log = await writeBacklogLog(file, { lines: 0, bytes: mb * 1024 * 1024, linesPerSession });
      const config = join(dir, "config.json");
      await writeFile(config, JSON.stringify({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC" }] }));
      let parse = { ms: Number.POSITIVE_INFINITY, rssMb: 0, stdout: "" };
      let run = { ms: Number.POSITIVE_INFINITY, rssMb: 0, stdout: "" };
      let runThreaded = { ms: Number.POSITIVE_INFINITY, rssMb: 0, stdout: "" };
      for (let i = 0; i < RUNS; i++) {
        const p = await timed(script, probe, join(dir, "parse.rss"), ["parse", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC"]);
        if (p.ms < parse.ms) parse = p;
        const state = join(dir, `state-${mix}-${i}`);
        await enroll(state);
        const r = await timed(script, probe, join(dir, "run.rss"), ["run", "--config", config, "--once", "--attempts", "1", "--state", state, "--json"]);
        if (r.ms < run.ms) run = r;
        await rm(state, { recursive: true });
        await enroll(state);
        const t = await timed(script, probe, join(dir, "run.rss"), ["run", "--config", config, "--once", "--attempts", "1", "--state", state, "--json"], "always");
        if (t.ms < runThreaded.ms) runThreaded = t;
        await rm(state, { recursive: true });
      }
      const appended = (JSON.parse(run.stdout) as { appended: number }).appended;
      const lps = (ms: number) => log.lines / (ms / 1000);
      figures.push(throughputFigure(`collector run: first start on a big ${mix} log (read, sign, chain, fsync)`, "lines/s", lps(run.ms), "parse of the same file", lps(parse.ms),
        `${(log.bytes / 1e6).toFixed(0)} MB, ${log.lines.toLocaleString("en-US")} lines, ${appended.toLocaleString("en-US")} records appended; fastest of ${RUNS} alternate runs each; peak RSS run ${run.rssMb} MB, parse ${parse.rssMb} MB; goal ratio ≥ 0.7`));
      const threadedAppended = (JSON.parse(runThreaded.stdout) as { appended: number }).appended;
      if (threadedAppended !== appended) throw new Error(`run on the step worker appended ${threadedAppended} records, on one thread ${appended}`);
      figures.push(throughputFigure(`collector run: first start on a big ${mix} log, backlog on the step worker`, "lines/s", lps(runThreaded.ms), "parse of the same file (one thread)", lps(parse.ms),
        `${(log.bytes / 1e6).toFixed(0)} MB; fastest of ${RUNS}; peak RSS ${runThreaded.rssMb} MB; one-thread run beside it: ${Math.round(lps(run.ms)).toLocaleString("en-US")} lines/s (×${(run.ms / runThreaded.ms).toFixed(2)} faster on the worker)`));
      await rm(file);
    }
    return figures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function timed(script: string, probe: string, rssFile: string, args: string[], thread = "never"): Promise<{ ms: number; rssMb: number; stdout: string }> {
  const t0 = performance.now();
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", probe, script, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, TALLY_PARSE_THREAD: thread, RSS_OUT: rssFile } }); // `parse` on one thread: the baseline
    let out = "";
    let err = "";
    // `parse` prints every record: count it away, as a pipe to /dev/null would.
    child.stdout.on("data", (d: Buffer) => { if (out.length < 1_000_000) out += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { err = (err + d.toString()).slice(-4000); });
    child.once("error", reject);
    child.once("close", (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${args[0]} exited ${code}: ${stderr}`);
  return { ms, rssMb: Math.round(Number(await readFile(rssFile, "utf8")) / 1024), stdout };
}

/** A state dir enrolled at an address where no edge listens (`run --once` then syncs nothing). */
async function enroll(state: string): Promise<void> {
  const { enrolledState } = await import("../../test/collector/cli/cli-io.ts");
  await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
}
