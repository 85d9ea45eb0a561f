// The order `npm test` starts its files in: longest first, across all four projects, so the few
// long randomised suites (kill loops, the fuzz, the tamper matrix) overlap each other and the
// short files fill the gaps at the end. Vitest's own order runs project after project (by name),
// which on two workers left one worker idle behind each project's longest file for ~400 s.
// Expected durations come from `test/durations.json` (seconds per file, setup and hooks included,
// from a previous whole run: `npm run test:durations`); a file not listed there runs after the
// listed ones, in vitest's order.
//
// The files of a project that shares one runner across files (isolate: false, the "worker"
// project) go last, as one block: vitest hands a lane's runner on only when the next file in the
// queue belongs to the same project, so files of that project interleaved with others would each
// start a fresh workerd again. Short files at the end are also what longest-first wants.
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const DURATIONS: Record<string, number> = JSON.parse(readFileSync(new URL("../durations.json", import.meta.url), "utf8"));

export class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const expected = (spec: TestSpecification) => DURATIONS[relative(spec.project.config.root, spec.moduleId)] ?? 0;
    const shared = (spec: TestSpecification) => (spec.project.config.isolate === false ? 1 : 0);
    // Array.prototype.sort is stable: ties keep vitest's order.
    return [...base].sort((a, b) => shared(a) - shared(b) || expected(b) - expected(a));
  }
}
