// Global setup of the node and reliability projects: what every test file used to build for itself,
// built once per run — the collector bundle (the script sites install, scripts/build-collector.ts;
// ~3 s a file) and a local edge's state with the D1 migrations applied (a `wrangler d1 migrations
// apply` of ~10 s CPU per edge started, now a directory copy). Test files read them through
// run-provided.ts, which falls back to building their own outside such a run.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { bundleCollector } from "./collector-process.ts";
import { migrateEdgeState } from "./local-edge.ts";

interface Built { dir: string; bundle: string; template: string }

/** Both projects name this setup; they share one build (the setups run in vitest's own process). */
const SHARED = Symbol.for("tally.run-setup");

async function build(): Promise<Built> {
  const dir = await mkdtemp(join(tmpdir(), "tally-run-"));
  const template = join(dir, "edge-state");
  const [bundle] = await Promise.all([bundleCollector(dir), migrateEdgeState(template)]);
  return { dir, bundle, template };
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const shared = globalThis as { [SHARED]?: Promise<Built> };
  const { dir, bundle, template } = await (shared[SHARED] ??= build());
  project.provide("collectorBundle", bundle);
  project.provide("edgeTemplate", template);
  return () => rm(dir, { recursive: true, force: true });
}
