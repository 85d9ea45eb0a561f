// A reporter: each test file's whole cost in the run — its environment, setup files, imports,
// hooks and tests (vitest's module diagnostic) — written to reports/file-times.json, which
// `npm run test:durations` turns into test/durations.json for the longest-first order. The JSON
// report's startTime..endTime, which it used before, covers the tests alone: it left out a worker
// file's setup (the Worker's module graph in a fresh workerd, 3–10 s) and an e2e file's beforeAll
// (an edge started, 8–30 s), so files were ordered by a fraction of what they cost.
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { Reporter, TestModule, Vitest } from "vitest/node";

export default class FileTimes implements Reporter {
  #root = "";
  #seconds: Record<string, number> = {};

  onInit(vitest: Vitest): void {
    this.#root = vitest.config.root;
  }

  onTestModuleEnd(module: TestModule): void {
    const d = module.diagnostic();
    const ms = d.environmentSetupDuration + d.prepareDuration + d.setupDuration + d.collectDuration + d.duration;
    this.#seconds[relative(module.project.config.root, module.moduleId)] = Math.round(ms / 100) / 10;
  }

  onTestRunEnd(): void {
    mkdirSync(join(this.#root, "reports"), { recursive: true });
    writeFileSync(join(this.#root, "reports/file-times.json"), `${JSON.stringify(this.#seconds, null, 2)}\n`);
  }
}
