// An air-gapped site's whole backlog, the full trip, against a real local edge: `backfill` of a
// big FlexLM debug log (nothing synced), `export` to bundles of at most 16 MiB, `upload` of all of
// them from the connected machine (a process with no state dir), `import-receipt` of the replies.
// The upload is the figure: records/s (the edge's verify and apply of each bundle included) of
// BENCH_TRIP_RECORDS (default ≈ 1,000,000) beside the trip of a tenth of it, with upload's peak RSS
// and peak V8 heap (sampled every 20 ms) in the notes — it must not grow with the trip: upload
// reads, sends and lets go of one bundle at a time. Every record must come back receipted. And,
// from upload's line per bundle, whether a bundle's apply slows as the contract's history grows.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleCollector } from "../../test/support/collector-process.ts";
import { writeBacklogLog } from "../../test/support/backlog-log.ts";
import { provisionContract, startLocalEdge, type LocalEdge } from "../../test/support/local-edge.ts";
import { measuredCollector, type MeasuredRun } from "../collector-memory.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";

/** Records per line of the usage-dense log (a checkout every 3 lines), as collector-export measures it. */
const RECORDS_PER_LINE = 0.31;

interface Trip { uploadMs: number; rssMb: number; heapMb: number; records: number; bundles: number; mb: number; perBundle: Array<{ records: number; s: number }> }

export default async function (): Promise<BenchFigure[]> {
  const target = Number(process.env.BENCH_TRIP_RECORDS ?? 1_000_000);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-trip-"));
  const edge = await startLocalEdge();
  try {
    const run = await measuredCollector(await bundleCollector(dir), dir);
    const small = await trip(edge, run, dir, "small", Math.round(target / 10));
    const big = await trip(edge, run, dir, "big", target);
    const rate = (t: Trip) => t.records / (t.uploadMs / 1000);
    const line = (t: Trip) => `${t.records.toLocaleString("en-US")} records in ${t.bundles} bundles (${t.mb} MB) uploaded in ${(t.uploadMs / 1000).toFixed(1)} s, upload's peak RSS ${t.rssMb} MB, peak heap ${t.heapMb} MB`;
    // Does the edge's apply slow down as the contract's history grows? The trip's last full bundles
    // (the one after them is partial) beside bundles 4–6 of the same upload: from the third on, a
    // bundle's apply shares the DO (and, locally, workerd's thread, D1's too) with the drain of the
    // ones before into D1, so the first two are ~3× faster and no measure of history.
    const full = big.perBundle.slice(0, -1);
    const rateOf = (bs: Trip["perBundle"]) => bs.reduce((n, b) => n + b.records, 0) / bs.reduce((n, b) => n + b.s, 0);
    const upload = throughputFigure("air-gapped trip: upload of a whole backlog to a local edge", "records/s", rate(big), "the trip of a tenth of it", rate(small), `${line(big)}; a tenth: ${line(small)}; edge: ${edge.runtime}`);
    if (full.length < 9) return [upload]; // a quick run (BENCH_TRIP_RECORDS small): too few bundles to compare
    return [
      upload,
      throughputFigure(`the trip's last 3 bundles (of ${big.bundles}), each applied on top of the ones before`, "records/s", rateOf(full.slice(-3)), "its bundles 4–6", rateOf(full.slice(3, 6)),
        `seconds per bundle: ${big.perBundle.map((b) => b.s.toFixed(1)).join(", ")}`),
    ];
  } finally {
    await edge.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function trip(edge: LocalEdge, run: (args: string[]) => Promise<MeasuredRun>, dir: string, name: string, records: number): Promise<Trip> {
  const contract = await provisionContract(edge, { start: "2023-12-01" });
  const state = join(dir, `state-${name}`);
  await run(["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", name, "--state", state, "--json"]);
  const file = join(dir, `${name}.log`);
  await writeBacklogLog(file, { lines: Math.round(records / RECORDS_PER_LINE), linesPerSession: 3 });
  const backfilled = JSON.parse((await run(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC", "--state", state, "--json"])).stdout) as { last_seq: number };
  await rm(file);
  const exported = JSON.parse((await run(["export", "--out", join(dir, `${name}-bundle.json`), "--state", state, "--json"])).stdout) as { records: number; bytes: number; files: string[] };
  const t0 = performance.now();
  const { stdout, stderr, mem } = await run(["upload", "--server", edge.url, "--json", ...exported.files]);
  const uploadMs = performance.now() - t0;
  const uploaded = JSON.parse(stdout) as { uploaded: Array<{ reply: string }> };
  const imported = JSON.parse((await run(["import-receipt", ...uploaded.uploaded.map((u) => u.reply), "--state", state, "--json"])).stdout) as { acked_seq: number; pending: number };
  if (imported.acked_seq !== backfilled.last_seq || imported.pending !== 0) {
    throw new Error(`the trip came back with acked_seq ${imported.acked_seq} of ${backfilled.last_seq}, ${imported.pending} pending`);
  }
  await rm(state, { recursive: true });
  for (const f of exported.files) await rm(f);
  for (const u of uploaded.uploaded) await rm(u.reply);
  return {
    uploadMs, rssMb: Math.round(mem.maxRSS / 1024), heapMb: Math.round(mem.heap / 1048576),
    records: exported.records, bundles: exported.files.length, mb: Math.round(exported.bytes / 1e6),
    // upload tells each bundle as it is receipted: `upload: k/n FILE (seq a…b) receipted in S s`.
    perBundle: [...stderr.matchAll(/^upload: \d+\/\d+ \S+ \(seq (\d+)…(\d+)\) receipted in ([\d.]+) s$/gm)].map((m) => ({ records: Number(m[2]) - Number(m[1]) + 1, s: Number(m[3]) })),
  };
}
