// Bundles the collector CLI into one script, dist/tally-collector.mjs, that runs on Node 20.18+ (what undici needs)
// (DESIGN.md §9: "ship it as one bundled script"). Usage: npm run build:collector
// [-- --outfile PATH] [--entry PATH] (tests bundle into their own temp dir, so concurrent suites never share a file).
import { chmod } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const at = process.argv.indexOf("--outfile");
const outfile = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]!) : resolve(root, "dist/tally-collector.mjs");
// `--entry PATH`: another script bundled the same way (the kill loop's append child).
const entryAt = process.argv.indexOf("--entry");
const entry = entryAt > 0 && process.argv[entryAt + 1] ? resolve(process.argv[entryAt + 1]!) : resolve(root, "collector/cli.ts");

await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  legalComments: "none",
  // CommonJS dependencies (crc-32) call require(); an ESM bundle has none unless we make one.
  banner: { js: 'import { createRequire as __tallyCreateRequire } from "node:module"; const require = __tallyCreateRequire(import.meta.url);' },
  logLevel: "warning",
});
await chmod(outfile, 0o755);
console.log(`built ${outfile}`);
