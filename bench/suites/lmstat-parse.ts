// `lmstat -a` snapshot parse throughput as `parse`/`backfill` run it — the source, the session tracker and
// every record — on a generated output of 50,000 held licenses (BENCH_LMSTAT_HOLDERS), beside the baseline
// of reading the same file and splitting it into lines (one line per holder, plus a few hundred others).
//
// What the baseline means: holders/s ÷ lines/s is the cost of one user line read in full — its holder, its
// session (SHA-256 id, pairing key) and its records — in units of a line merely read. Each holder here is
// ~7 records (sessions of up to 8 h, 1 % borrowed for up to 14 days, cut hourly), so the second figure sets
// records/s beside the same lines/s: what one record costs, in split lines.
//
// Memory: one parse of 10,000, 50,000 and 100,000 holders, each in a fresh process (peak RSS and peak
// heap in the notes, beside the runtime alone). Every holder of a snapshot is an open session at its end,
// so memory grows with the holders (about 1 KB each, live); it stays flat in the span of the sessions.
//
// The output is what a large FlexLM server prints: 100 features of one vendor, user lines with and
// without a display, `, N licenses`, PIDs, a few borrowed licenses (weeks old), user names with spaces.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { readAndSplit } from "../line-file.ts";
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import { recordBatchesFromFile } from "../../collector/sources/parse-file.ts";

const SEED = Number(process.env.SEED ?? 42);
const HEADER = Date.UTC(2025, 1, 10, 11, 26); // Mon 2/10/2025 11:26, read as UTC
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

export function generateLmstat(holders: number): string {
  const rand = mulberry32(SEED);
  const features = Array.from({ length: 100 }, (_, i) => `FEATURE_${i}`);
  const perFeature = Math.ceil(holders / features.length);
  const out = [
    "lmutil - Copyright (c) 1989-2024 Flexera. All Rights Reserved.",
    "Flexible License Manager status on Mon 2/10/2025 11:26", "",
    "License server status: 27000@lic01.example.com", "    License file(s) on lic01.example.com: /opt/lic/license.dat:", "",
    "lic01.example.com: license server UP (MASTER) v11.19.6", "", "Vendor daemon status (on lic01.example.com):", "", "     VENDOR: UP v11.19.6", "",
    "Feature usage info:", "",
  ];
  let handle = 1000, left = holders;
  for (const f of features) {
    const n = Math.min(perFeature, left);
    if (n <= 0) break;
    left -= n;
    out.push(`Users of ${f}:  (Total of ${n * 2} licenses issued;  Total of ${n} licenses in use)`, "", `  "${f}" v2025.0, vendor: VENDOR, expiry: 31-dec-2025`, "  floating license", "");
    for (let i = 0; i < n; i++) {
      const borrowed = rand() < 0.01;
      const start = new Date(HEADER - Math.floor((borrowed ? 14 * 86_400 : 8 * 3600) * rand()) * 1000);
      const when = `${DAYS[start.getUTCDay()]} ${start.getUTCMonth() + 1}/${start.getUTCDate()} ${start.getUTCHours()}:${String(start.getUTCMinutes()).padStart(2, "0")}`;
      const u = Math.floor(rand() * 5000);
      const user = u % 23 === 0 ? `Ana María ${u}` : `user${u}`;
      const host = `pc-${u % 997}`;
      const display = rand() < 0.8 ? ` ${host}` : "";
      const suffix = borrowed ? "  (linger: 1209600)" : rand() < 0.5 ? `, PID: ${10_000 + Math.floor(rand() * 90_000)}` : "";
      out.push(`    ${user} ${host}${display} (v2025.0) (lic01.example.com/27001 ${handle++}), start ${when}${suffix}`);
    }
    out.push("");
  }
  return out.join("\n") + "\n";
}

export default async function (): Promise<BenchFigure[]> {
  const holders = Number(process.env.BENCH_LMSTAT_HOLDERS ?? 50_000);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-lmstat-"));
  const file = join(dir, "lmstat.txt");
  try {
    await writeFile(file, generateLmstat(holders));
    // Best of five for both: one output is small enough for the machine's noise to matter.
    let splitMs = Infinity, parseMs = Infinity, records = 0, lines = 0;
    for (let round = 0; round < 5; round++) {
      const split = await readAndSplit(file);
      lines = split.lines;
      splitMs = Math.min(splitMs, split.ms);

      const t0 = performance.now();
      records = 0;
      for await (const batch of recordBatchesFromFile("flexlm-lmstat", file, { timezone: "UTC" })) records += batch.length;
      parseMs = Math.min(parseMs, performance.now() - t0);
    }
    const memory = [];
    for (const n of [10_000, 50_000, 100_000]) memory.push(await parseInChild(dir, n));
    const runtime = await parseInChild(dir, 0);
    const memoryNote = `one parse in a fresh process: ${memory.map((m) => `${m.holders / 1000}k holders peak RSS ${m.rssMb} MB (heap ${m.heapMb} MB)`).join(", ")}; runtime alone ${runtime.rssMb} MB`;
    const perSecond = (n: number, ms: number) => n / (ms / 1000);
    return [
      throughputFigure("flexlm lmstat parse (source + session tracker)", "holders/s", perSecond(holders, parseMs), "read + split into lines (lines/s)", perSecond(lines, splitMs),
        `${holders.toLocaleString("en-US")} holders (${lines.toLocaleString("en-US")} lines), ${records.toLocaleString("en-US")} records, fastest of 5; ${memoryNote}; seed ${SEED}`),
      throughputFigure("flexlm lmstat parse, per record", "records/s", perSecond(records, parseMs), "read + split into lines (lines/s)", perSecond(lines, splitMs),
        `${(records / holders).toFixed(2)} records per holder`),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Parses a generated output of `holders` (0: none, the runtime alone) in a process of its own: its peak RSS and peak heap. */
async function parseInChild(dir: string, holders: number): Promise<{ holders: number; rssMb: number; heapMb: number }> {
  const file = join(dir, `lmstat-${holders}.txt`);
  if (holders > 0) await writeFile(file, generateLmstat(holders));
  const parseFile = new URL("../../collector/sources/parse-file.ts", import.meta.url).href;
  const script = `
    const { recordBatchesFromFile } = await import(${JSON.stringify(parseFile)});
    let heap = process.memoryUsage().heapUsed;
    if (${holders} > 0) for await (const batch of recordBatchesFromFile("flexlm-lmstat", ${JSON.stringify(file)}, { timezone: "UTC" })) heap = Math.max(heap, process.memoryUsage().heapUsed);
    process.stdout.write(JSON.stringify({ rss: process.resourceUsage().maxRSS * 1024, heap }));`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => { text += d.toString(); });
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`lmstat parse child exited ${code}`))));
  });
  const { rss, heap } = JSON.parse(out) as { rss: number; heap: number };
  return { holders, rssMb: Math.round(rss / 1048576), heapMb: Math.round(heap / 1048576) };
}
