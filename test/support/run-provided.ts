// What the run's global setup (run-setup.ts) hands every test file: the path of the collector
// bundle, and of an edge state dir with the migrations applied (copy it, never write to it). Both
// are built in the background: provided() waits for the `ready` file beside them (or throws what
// `failed` says). Undefined outside vitest: the benchmarks use these helpers too, and cannot
// import "vitest".
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

declare module "vitest" {
  export interface ProvidedContext {
    collectorBundle: string;
    edgeTemplate: string;
  }
}

export async function provided(key: "collectorBundle" | "edgeTemplate"): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  const { inject } = await import("vitest");
  const path = inject(key);
  if (!path) return undefined;
  const dir = dirname(path);
  while (!existsSync(join(dir, "ready"))) {
    if (existsSync(join(dir, "failed"))) throw new Error(`the run's global setup failed: ${readFileSync(join(dir, "failed"), "utf8")}`);
    await sleep(100);
  }
  return path;
}
