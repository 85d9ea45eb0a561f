// The order `npm test` starts its files in: longest first, across all three projects, so the few
// long randomised suites (kill loops, the fuzz, the tamper matrix) overlap each other and the
// short files fill the gaps at the end. Vitest's own order runs project after project (by name),
// which on two workers left one worker idle behind each project's longest file for ~400 s.
// Expected durations come from `test/durations.json` (seconds per file, setup and hooks included,
// from a previous whole run: `npm run test:durations`); a file not listed there runs after the
// listed ones, in vitest's order.
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const DURATIONS: Record<string, number> = JSON.parse(readFileSync(new URL("../durations.json", import.meta.url), "utf8"));

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const expected = (spec: TestSpecification) => DURATIONS[relative(spec.project.config.root, spec.moduleId)] ?? 0;
    // Array.prototype.sort is stable: ties keep vitest's order.
    return [...base].sort((a, b) => expected(b) - expected(a));
  }
}
