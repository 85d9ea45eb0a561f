// An air-gapped site's whole backlog in one trip: `export` of a big pending log (a FlexLM debug
// log read by `run --once` on a state enrolled where no edge listens, so nothing is receipted)
// writes every record as bundles of at most 16 MiB. The bundled collector, a process of its own,
// with its peak RSS and peak V8 heap (sampled every 20 ms) in the notes: memory must not grow with
// the backlog, as it would if the backlog were held at once. Figure: records/s of the export of
// BENCH_EXPORT_RECORDS (default ≈ 1,000,000) beside the export of a tenth of it.
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleCollector } from "../../test/support/collector-process.ts";
import { writeBacklogLog } from "../../test/support/backlog-log.ts";
import { freePort } from "../../test/support/local-edge.ts";
import { measuredCollector, type MeasuredRun } from "../collector-memory.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";

/** Records per line of the usage-dense log (a checkout every 3 lines), measured. */
const RECORDS_PER_LINE = 0.31;

interface Export { ms: number; rssMb: number; heapMb: number; records: number; bundles: number; bytes: number; files: string[] }

export default async function (): Promise<BenchFigure[]> {
  const target = Number(process.env.BENCH_EXPORT_RECORDS ?? 1_000_000);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-export-"));
  try {
    const run = await measuredCollector(await bundleCollector(dir), dir);
    const big = await backlog(run, dir, "big", target);
    const small = await backlog(run, dir, "small", Math.round(target / 10));
    const rate = (e: Export) => e.records / (e.ms / 1000);
    const line = (e: Export) => `${e.records.toLocaleString("en-US")} records → ${e.bundles} bundles, ${(e.bytes / 1e6).toFixed(0)} MB in ${(e.ms / 1000).toFixed(1)} s, peak RSS ${e.rssMb} MB, peak heap ${e.heapMb} MB`;
    return [throughputFigure("collector export: a whole air-gapped backlog in one trip", "records/s", rate(big), "export of a tenth of it", rate(small), `${line(big)}; a tenth: ${line(small)}`)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function backlog(run: (args: string[]) => Promise<MeasuredRun>, dir: string, name: string, records: number): Promise<Export> {
  const file = join(dir, `${name}.log`);
  await writeBacklogLog(file, { lines: Math.round(records / RECORDS_PER_LINE), linesPerSession: 3 });
  const state = join(dir, `state-${name}`);
  const { enrolledState } = await import("../../test/collector/cli/cli-io.ts");
  await enrolledState(state, `http://127.0.0.1:${await freePort()}`);
  const config = join(dir, `${name}.json`);
  await writeFile(config, JSON.stringify({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC" }] }));
  await run(["run", "--config", config, "--once", "--attempts", "1", "--state", state, "--json"]);
  await rm(file);
  const t0 = performance.now();
  const { stdout, mem } = await run(["export", "--out", join(dir, `${name}-bundle.json`), "--state", state, "--json"]);
  const ms = performance.now() - t0;
  const out = JSON.parse(stdout) as { records: number; bytes: number; files: string[] };
  for (const f of out.files) if ((await stat(f)).size > 16 * 1024 * 1024) throw new Error(`${f} is over 16 MiB`);
  await rm(state, { recursive: true });
  for (const f of out.files) await rm(f);
  return { ms, rssMb: Math.round(mem.maxRSS / 1024), heapMb: Math.round(mem.heap / 1048576), records: out.records, bundles: out.files.length, bytes: out.bytes, files: out.files };
}
