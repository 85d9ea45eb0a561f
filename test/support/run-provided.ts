// What the run's global setup (run-setup.ts) hands every test file: the path of the collector
// bundle, and of an edge state dir with the migrations applied (copy it, never write to it).
// Undefined outside vitest: the benchmarks use these helpers too, and cannot import "vitest".

declare module "vitest" {
  export interface ProvidedContext {
    collectorBundle: string;
    edgeTemplate: string;
  }
}

export async function provided(key: "collectorBundle" | "edgeTemplate"): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  const { inject } = await import("vitest");
  return inject(key);
}
