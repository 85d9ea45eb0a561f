// `lmstat -a` snapshot parse throughput (holders/s) as `parse`/`backfill` run it — the source, the
// session tracker and every record — on a generated output of 50,000 held licenses (BENCH_LMSTAT_HOLDERS),
// beside the baseline of reading the same file and splitting it into lines.
//
// The output is what a large FlexLM server prints: 100 features of one vendor, user lines with and
// without a display, `, N licenses`, PIDs, a few borrowed licenses (weeks old), user names with spaces.
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import { LineSplitter } from "../../collector/sources/line-splitter.ts";
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
    // Best of three for both: one output is small enough for the machine's noise to matter.
    let baseline = 0, parse = 0, records = 0;
    for (let round = 0; round < 3; round++) {
      let t0 = performance.now();
      const splitter = new LineSplitter();
      for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) splitter.push(chunk as Buffer);
      splitter.end();
      baseline = Math.max(baseline, holders / ((performance.now() - t0) / 1000));

      t0 = performance.now();
      records = 0;
      for await (const batch of recordBatchesFromFile("flexlm-lmstat", file, { timezone: "UTC" })) records += batch.length;
      parse = Math.max(parse, holders / ((performance.now() - t0) / 1000));
    }
    const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    return [throughputFigure("flexlm lmstat parse (source + session tracker)", "holders/s", parse, "read + split into lines", baseline,
      `${holders.toLocaleString("en-US")} holders, ${records.toLocaleString("en-US")} records, peak RSS ${rssMb} MB, seed ${SEED}`)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
