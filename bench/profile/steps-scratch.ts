import { existsSync } from "node:fs";
import { generate } from "../suites/debuglog-parse.ts";
import { LineReader } from "../../collector/daemon/line-reader.ts";
import { recordBatchesFromFile } from "../../collector/sources/parse-file.ts";
const file = "/work/scratch/prof/lmgrd.log";
const mode = process.argv[2] ?? "steps";
if (!existsSync(file)) console.log("lines", await generate(file, Number(process.env.MB ?? 200) * 1024 * 1024));
const t0 = performance.now();
let records = 0, json = 0;
if (mode === "steps" || mode === "one") {
  const reader = LineReader.open("flexlm-debuglog", "flexlm-debuglog", file, { timezone: "Europe/Madrid", encoding: "utf-8", cut_s: 3600 }, undefined, { thread: mode === "steps" });
  const count = (bodies: unknown[]) => void (records += bodies.length);
  for (;;) {
    const step = await reader.read(undefined, undefined, count);
    records += step.bodies.length;
    const { apart } = reader.stateApart();
    if (process.env.JSON) json += JSON.stringify(apart.added).length;
    if (step.caughtUp) break;
  }
  await reader.readRest();
  reader.finish();
  do records += reader.take().length;
  while (reader.queued);
  await reader.close();
} else for await (const batch of recordBatchesFromFile("flexlm-debuglog", file, { timezone: "Europe/Madrid", thread: mode as "never" | "always" })) records += batch.length;
const s = (performance.now() - t0) / 1000;
console.log(mode, records, s.toFixed(2), "s", (3470000 / s / 1000).toFixed(0), "k lines/s", json);
