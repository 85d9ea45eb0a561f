// Every fixture file has its provenance written down: test/fixtures/SOURCES.md names each one.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect, it } from "vitest";
import { sharedFixtures } from "./fixture-paths.ts";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

it("SOURCES.md names every file in test/fixtures", () => {
  const sources = readFileSync(join(sharedFixtures, "SOURCES.md"), "utf8");
  const files = filesUnder(sharedFixtures).map((f) => relative(sharedFixtures, f)).filter((f) => !/^(SOURCES|README|snapshot-README)\.md$/.test(f));
  expect(files.length).toBeGreaterThan(40);
  expect(files.filter((f) => !sources.includes(f.split("/").pop()!))).toEqual([]);
});
