// Copies the console's vendor files (htmx, uPlot) and the API reference's renderer (Scalar's
// standalone bundle, for /docs) from node_modules into the Worker's static assets
// (worker/console/public/console/assets/), with their licenses, so every page works air-gapped. Nothing is downloaded:
// the files come from the pinned npm packages. `--check` exits 1 if a copy differs from its
// package (so a version bump without a rebuild is caught), without writing.
//
//   node scripts/build-console.ts [--check]
import { copyFileSync, mkdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const OUT = join(ROOT, "worker/console/public/console/assets");

/** [file in node_modules, name in the assets folder] */
export const VENDOR_FILES: Array<[string, string]> = [
  ["htmx.org/dist/htmx.min.js", "htmx.min.js"],
  ["htmx.org/LICENSE", "htmx.LICENSE.txt"],
  ["uplot/dist/uPlot.iife.min.js", "uPlot.iife.min.js"],
  ["uplot/dist/uPlot.min.css", "uPlot.min.css"],
  ["uplot/LICENSE", "uPlot.LICENSE.txt"],
  // The single-file UMD build: the ESM build would fetch dozens of chunks by `import`.
  ["@scalar/api-reference/dist/browser/standalone.js", "scalar-api-reference.js"],
  // The package ships no LICENSE file; its package.json names the license (MIT) and version.
  ["@scalar/api-reference/package.json", "scalar-api-reference.package.json"],
];

export function staleVendorFiles(): string[] {
  return VENDOR_FILES.filter(([from, to]) => {
    const target = join(OUT, to);
    return !existsSync(target) || !readFileSync(join(ROOT, "node_modules", from)).equals(readFileSync(target));
  }).map(([, to]) => to);
}

if (import.meta.main) {
  if (process.argv.includes("--check")) {
    const stale = staleVendorFiles();
    if (stale.length > 0) {
      console.error(`build-console: out of date: ${stale.join(", ")} (run npm run build:console)`);
      process.exit(1);
    }
    console.log("build-console: vendor files match node_modules");
  } else {
    mkdirSync(OUT, { recursive: true });
    for (const [from, to] of VENDOR_FILES) copyFileSync(join(ROOT, "node_modules", from), join(OUT, to));
    console.log(`build-console: copied ${VENDOR_FILES.length} files to ${OUT}`);
  }
}
