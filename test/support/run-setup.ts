// Global setup of the node and reliability projects: what every test file used to build for itself,
// built once per run — the collector bundle (the script sites install, scripts/build-collector.ts;
// ~3 s a file) and a local edge's state with the D1 migrations applied (~10 s of CPU per edge
// started; now one state made in-process by migrateEdgeState, which each edge copies), and the
// Worker bundle the Miniflare edges and the cores run (the core build, cached per source tree in
// dist/core: started here so the first file with an edge does not wait for all of it). The build
// runs in the background: vitest starts no file of any project until every global setup has
// returned, and the worker project needs none of this. Test files wait for it through
// run-provided.ts (a `ready` or `failed` file next to what it built), which falls back to building
// their own outside such a run.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { bundleCollector } from "./collector-process.ts";
import { coreBuild } from "./core-process.ts";
import { migrateEdgeState } from "./local-edge.ts";

interface Build { dir: string; bundle: string; template: string; done: Promise<void> }

/** Both projects name this setup; they share one build (the setups run in vitest's own process). */
const SHARED = Symbol.for("tally.run-setup");

async function start(): Promise<Build> {
  const dir = await mkdtemp(join(tmpdir(), "tally-run-"));
  const bundle = join(dir, "tally-collector.mjs");
  const template = join(dir, "edge-state");
  const done = Promise.all([bundleCollector(dir), migrateEdgeState(template), coreBuild()]).then(
    () => writeFile(join(dir, "ready"), ""),
    (error: unknown) => writeFile(join(dir, "failed"), error instanceof Error ? error.stack ?? error.message : String(error)),
  );
  return { dir, bundle, template, done };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = globalThis as { [SHARED]?: Promise<Build> };
  const { dir, bundle, template, done } = await (shared[SHARED] ??= start());
  project.provide("collectorBundle", bundle);
  project.provide("edgeTemplate", template);
  return async () => {
    await done;
    await rm(dir, { recursive: true, force: true });
  };
}
