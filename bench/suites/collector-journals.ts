// Every command opens the site, and a state dir keeps a journal per file ever backfilled (a year of
// daily-rotated logs: hundreds). `status` on a state dir holding BENCH_JOURNALS (default 1,000) of
// them, against `status` on the same site with one, in the same run: site open settles only
// journals with a step pending, so the cost of the others is one small state file read each, not a
// listing of the folder and an appendix read each (quadratic in the files). The journals are one
// real backfill's files, copied under other fingerprints (a thousand backfills take minutes).
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cli, enrolledState } from "../../test/collector/cli/cli-io.ts";
import { writeBacklogLog } from "../../test/support/backlog-log.ts";
import { latencyFigure, type BenchFigure } from "../figure.ts";

const JOURNALS = Number(process.env.BENCH_JOURNALS ?? 1000);
const RUNS = 5;

export default async function (): Promise<BenchFigure[]> {
  const dir = await mkdtemp(join(tmpdir(), "tally-bench-journals-"));
  try {
    const state = join(dir, "state");
    await enrolledState(state);
    const file = join(dir, "day.log");
    await writeBacklogLog(file, { lines: 2000, seed: 7 });
    const out = await cli(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC", "--name", "lmgrd", "--state", state]);
    if (out.status !== 0) throw new Error(out.stderr);
    const one = await status(state);
    const sources = join(state, "sources");
    const [json] = (await readdir(sources)).filter((n) => n.endsWith(".json"));
    const base = json!.slice(0, -".json".length);
    const text = await readFile(join(sources, json!), "utf8");
    const appendix = (await readdir(sources)).find((n) => n.endsWith(".jsonl"))!;
    for (let k = 1; k < JOURNALS; k++) {
      const name = `lmgrd@${k.toString(16).padStart(16, "0")}`;
      await writeFile(join(sources, `${name}.json`), text.replaceAll(base, name));
      await copyFile(join(sources, appendix), join(sources, appendix.replace(base, name)));
    }
    const many = await status(state);
    return [latencyFigure(`collector status with ${JOURNALS} backfill journals in the state dir`, "ms", many, "status with one", one,
      `fastest of ${RUNS}; each journal a state file and its appendix (${(text.length / 1024).toFixed(1)} KiB + ${((await readFile(join(sources, appendix))).length / 1024).toFixed(1)} KiB)`)];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function status(state: string): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const out = await cli(["status", "--state", state, "--json"]);
    if (out.status !== 0) throw new Error(out.stderr);
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}
