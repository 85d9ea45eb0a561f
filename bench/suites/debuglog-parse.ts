// FlexLM debug-log parse throughput (lines/s) on a large generated log, beside the baseline of
// just reading and splitting the same file into lines. Size: BENCH_DEBUGLOG_MB (default 1024 —
// the 1 GB: generating and reading it twice takes a few minutes; use e.g. 100 for a quick
// run). The parse streams, so peak RSS (in the notes) stays flat whatever the size.
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { throughputFigure, type BenchFigure } from "../figure.ts";
import { mulberry32 } from "../../shared/random/mulberry32.ts";
import { LineSplitter } from "../../collector/sources/line-splitter.ts";
import { recordsFromFile } from "../../collector/sources/parse-file.ts";

const SEED = Number(process.env.SEED ?? 42);

const rng = mulberry32;

/** A realistic MLM log: TIMESTAMPs every 6 h, OUT/IN pairs, toolboxes, denials, UNSUPPORTED, noise. */
async function generate(file: string, bytes: number): Promise<number> {
  const rand = rng(SEED);
  const features = ["MATLAB", "SIMULINK", "Statistics_Toolbox", "Signal_Toolbox", "Optimization_Toolbox"];
  const users = Array.from({ length: 400 }, (_, i) => (i % 17 === 0 ? `José Luis ${i}` : `user${i}`) + `@PC-${i % 97}`);
  const open: string[][] = [];
  const fh = await open_(file);
  let t = 0, day = new Date(Date.UTC(2022, 0, 1)), written = 0, lines = 0, nextStamp = 0;
  const hms = (s: number) => `${String(Math.floor(s / 3600)).padStart(2, " ")}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`;
  let buf: string[] = [];
  while (written < bytes) {
    t += 1 + Math.floor(rand() * 8);
    if (t >= 86400) { t -= 86400; day = new Date(day.getTime() + 86_400_000); nextStamp = 0; }
    const stamp = `${day.getUTCMonth() + 1}/${day.getUTCDate()}/${day.getUTCFullYear()}`;
    if (t >= nextStamp) { buf.push(`${hms(t)} (MLM) TIMESTAMP ${stamp}`); nextStamp = t + 6 * 3600; }
    const r = rand();
    // About 100 licenses held at a time: sessions last a few minutes to a few hours.
    if (r < 0.8 * (1 - open.length / 200) || open.length === 0) {
      const f = features[Math.floor(rand() * rand() * features.length)]!, u = users[Math.floor(rand() * users.length)]!;
      open.push([f, u]);
      buf.push(`${hms(t)} (MLM) OUT: "${f}" ${u}  `);
    } else if (r < 0.8) {
      const [f, u] = open.splice(Math.floor(rand() * open.length), 1)[0]!;
      buf.push(`${hms(t)} (MLM) IN: "${f}" ${u}  `);
    } else if (r < 0.85) buf.push(`${hms(t)} (MLM) DENIED: "MATLAB" ${users[Math.floor(rand() * users.length)]}  (Licensed number of users already reached. (-4,342))`);
    else if (r < 0.9) buf.push(`${hms(t)} (MLM) UNSUPPORTED: "MATLAB" (BF04C1B183DD400E147F) ${users[Math.floor(rand() * users.length)]}  (No such feature exists. (-5,346))`);
    else buf.push(`${hms(t)} (MLM) (@MLM-SLOG@) 00000000 ms at Thu Jul 07 2022 08:13:38 Hora de verano romance,#42,(9476K),(Alumno,B16,880)`);
    if (buf.length >= 10_000) {
      const text = buf.join("\n") + "\n";
      await fh.write(text);
      written += Buffer.byteLength(text);
      lines += buf.length;
      buf = [];
    }
  }
  await fh.close();
  return lines;
}
const open_ = (file: string) => open(file, "w");

export default async function (): Promise<BenchFigure[]> {
  const mb = Number(process.env.BENCH_DEBUGLOG_MB ?? 1024);
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-debuglog-"));
  const file = join(dir, "lmgrd.log");
  try {
    const lines = await generate(file, mb * 1024 * 1024);

    let t0 = performance.now(), split = 0;
    const splitter = new LineSplitter();
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) split += splitter.push(chunk as Buffer).length;
    split += splitter.end().length;
    const baseline = split / ((performance.now() - t0) / 1000);

    t0 = performance.now();
    let records = 0;
    for await (const _ of recordsFromFile("flexlm-debuglog", file, { timezone: "Europe/Madrid" })) records++;
    const parse = lines / ((performance.now() - t0) / 1000);
    const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
    return [throughputFigure("flexlm debug-log parse (source + session tracker)", "lines/s", parse, "read + split into lines", baseline,
      `${mb} MB, ${lines.toLocaleString("en-US")} lines, ${records.toLocaleString("en-US")} records, peak RSS ${rssMb} MB, seed ${SEED}`)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
