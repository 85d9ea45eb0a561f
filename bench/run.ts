// `npm run bench [-- --json] [-- --only NAME]`: runs every suite in bench/suites and prints each
// figure beside the baseline measured in the same run.
import { readdir } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { BenchFigure, BenchSuite } from "./figure.ts";

const args = process.argv.slice(2);
const json = args.includes("--json");
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const dir = fileURLToPath(new URL("./suites/", import.meta.url));

const files = (await readdir(dir)).filter((f) => f.endsWith(".ts")).sort();
const figures: BenchFigure[] = [];
for (const file of files) {
  if (only && !file.includes(only)) continue;
  const suite = (await import(pathToFileURL(dir + file).href)).default as BenchSuite;
  if (!json) console.error(`running ${file} …`);
  for (const figure of await suite()) {
    figures.push(figure);
    if (json) console.log(JSON.stringify(figure));
  }
}
if (!json) {
  const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString("en-US") : n.toPrecision(3));
  console.table(figures.map((f) => ({ figure: f.name, value: `${fmt(f.value)} ${f.unit}`, baseline: f.baseline, "baseline value": `${fmt(f.baseline_value)} ${f.unit}`, ratio: f.ratio.toFixed(3), notes: f.notes ?? "" })));
}
