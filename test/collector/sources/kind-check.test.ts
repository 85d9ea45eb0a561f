// A file given as the wrong kind is refused before anything is read into records (kind-check.ts):
// every real and synthetic fixture passes as its own kind, and as another it is refused, named as
// the kind its lines are where one reads most of them.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { HEAD_BYTES, kindProblem } from "../../../collector/sources/kind-check.ts";
import { sourceKinds } from "../../../collector/sources/registry.ts";
import { sharedFixtures } from "./fixture-paths.ts";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

/** The kind each fixture is an output or log of, from its name; undefined for formats not read (other/). */
function kindOf(file: string): string | undefined {
  const name = basename(file);
  if (name.startsWith("debuglog-")) return "flexlm-debuglog";
  if (name.startsWith("reportlog-")) return "rlm-reportlog";
  if (/^(snapshot-)?lmstat-/.test(name)) return "flexlm-lmstat";
  if (name.startsWith("rlmstat-")) return "rlm-rlmstat";
  if (/^(snapshot-)?lmx-/.test(name)) return "lmx";
  if (/^(snapshot-)?dsls-/.test(name)) return "dsls";
  if (name.startsWith("lsmon-")) return "sentinel-lsmon";
  if (name.endsWith(".jsonl")) return "jsonl";
  return undefined;
}

const fixtures = filesUnder(sharedFixtures).filter((f) => !f.endsWith(".md"));
const head = (file: string) => readFileSync(file).subarray(0, HEAD_BYTES);

describe("kindProblem", () => {
  it("finds nothing wrong with any fixture read as its own kind", () => {
    const own = fixtures.filter((f) => kindOf(f) !== undefined);
    expect(own.length).toBeGreaterThan(70);
    expect(own.filter((f) => kindProblem(kindOf(f)!, head(f), undefined, f) !== undefined).map((f) => relative(sharedFixtures, f))).toEqual([]);
  });

  it("refuses every log read as a kind it is not, naming its own; and every output read as a log", () => {
    const refusals: string[] = [];
    for (const file of fixtures) {
      const own = kindOf(file);
      if (own === undefined) continue;
      for (const kind of Object.keys(sourceKinds)) {
        if (kind === own) continue;
        const problem = kindProblem(kind, head(file), undefined, file);
        const logs = sourceKinds[own]!.shape === "lines" || sourceKinds[kind]!.shape === "lines";
        // Snapshot outputs read as another snapshot kind: refused where under a tenth of their lines read
        // as that kind's (most), accepted otherwise (a short error output, a dashed rule, `key: value`).
        if (!logs && problem === undefined) continue;
        if (problem?.code !== "wrong_kind" || problem.looks_like !== own) refusals.push(`${relative(sharedFixtures, file)} as ${kind}: ${problem ? `${problem.code} ${problem.looks_like ?? ""}` : "accepted"}`);
      }
    }
    // The one log too broken for its own kind to read most of its first lines is refused without a name.
    expect(refusals).toEqual([
      "flexlm/debuglog-synthetic-unreadable.log as flexlm-lmstat: unrecognised_file ",
      "flexlm/debuglog-synthetic-unreadable.log as rlm-rlmstat: unrecognised_file ",
      "flexlm/debuglog-synthetic-unreadable.log as lmx: unrecognised_file ",
      "flexlm/debuglog-synthetic-unreadable.log as dsls: unrecognised_file ",
      "flexlm/debuglog-synthetic-unreadable.log as sentinel-lsmon: unrecognised_file ",
      "flexlm/debuglog-synthetic-unreadable.log as rlm-reportlog: unrecognised_file ",
      "flexlm/debuglog-synthetic-unreadable.log as jsonl: unrecognised_file ",
    ]);
  });

  it("names the kind in its message, and the fix is the caller's", () => {
    const file = join(sharedFixtures, "flexlm/debuglog-justbennet-ansys.log");
    const problem = kindProblem("rlm-reportlog", head(file), undefined, "ansys.log")!;
    expect(problem).toMatchObject({ code: "wrong_kind", looks_like: "flexlm-debuglog" });
    expect(problem.message).toMatch(/^none of the first \d+ lines of ansys\.log is a line of rlm-reportlog: they are flexlm-debuglog lines/);
  });

  it("refuses an output of a tool it does not read, naming no kind (most of its lines are no kind's)", () => {
    const file = join(sharedFixtures, "other/olixtool-omnivector.txt");
    expect(kindProblem("flexlm-lmstat", head(file), undefined, file)).toMatchObject({ code: "unrecognised_file" });
    expect(kindProblem("flexlm-debuglog", head(file), undefined, file)).toMatchObject({ code: "unrecognised_file" });
  });

  it("refuses nothing that has no line to judge: empty, blank, a byte-order mark, one line not yet ended", () => {
    for (const text of ["", "\n\n  \n", "\ufeff"]) {
      for (const kind of Object.keys(sourceKinds)) expect(kindProblem(kind, Buffer.from(text), undefined, "f"), `${JSON.stringify(text)} as ${kind}`).toBeUndefined();
    }
    // A log's line is judged once it ends (the rest may still be being written); an output is read whole.
    const unended = Buffer.from(" 0:00:01 (MLM) TIMESTAMP 3/3/2025");
    expect(kindProblem("rlm-reportlog", unended, undefined, "f")).toBeUndefined();
    expect(kindProblem("flexlm-lmstat", unended, undefined, "f")).toMatchObject({ code: "unrecognised_file" });
  });

  it("judges a log by its lines in the encoding given", () => {
    const latin1 = Buffer.from(" 0:00:01 (MLM) TIMESTAMP 3/3/2025\n 0:10:00 (MLM) OUT: \"MATLAB\" jos\xe9@pc1  \n", "latin1");
    expect(kindProblem("flexlm-debuglog", latin1, "windows-1252", "f")).toBeUndefined();
    expect(kindProblem("rlm-reportlog", latin1, "windows-1252", "f")).toMatchObject({ code: "wrong_kind", looks_like: "flexlm-debuglog" });
  });
});
