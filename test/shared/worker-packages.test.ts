// The worker test project pre-bundles the packages the Worker imports (test/support/worker-packages.ts).
// A package imported by worker/ or shared/ but missing from that list would be loaded twice in a
// test's workerd and break instanceof checks in ways that look like product bugs; a listed package
// the Worker no longer imports is dead weight. This holds the list to the sources.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../support/local-edge.ts";
import { WORKER_PACKAGES } from "../support/worker-packages.ts";

/** Import and re-export specifiers at the start of a line (not inside strings of bundled assets). */
const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === "public" || e.name === "node_modules" ? [] : sourceFiles(path);
    return /\.tsx?$/.test(e.name) && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Bare specifiers (packages) imported by the given files, with one file that imports each. */
function packageImports(files: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of files) {
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT)) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith(".") || spec.startsWith("/") || /^(node|cloudflare):/.test(spec)) continue;
      if (!found.has(spec)) found.set(spec, relative(REPO_ROOT, file));
    }
  }
  return found;
}

describe("the worker project's pre-bundled packages", () => {
  const imported = packageImports([...sourceFiles(join(REPO_ROOT, "worker")), ...sourceFiles(join(REPO_ROOT, "shared"))]);

  it("list every package worker/ and shared/ import", () => {
    const missing = [...imported].filter(([spec]) => !WORKER_PACKAGES.includes(spec)).map(([spec, file]) => `${spec} (${file})`);
    expect(missing).toEqual([]);
  });

  it("list nothing the Worker no longer imports", () => {
    expect(WORKER_PACKAGES.filter((spec) => !imported.has(spec))).toEqual([]);
  });

  it("the scan finds imports and skips relative ones (checked on this file)", () => {
    const self = packageImports([join(REPO_ROOT, "test/shared/worker-packages.test.ts")]);
    expect([...self.keys()].sort()).toEqual(["vitest"]);
  });
});
