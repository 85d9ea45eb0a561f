import { describe, expect, it } from "vitest";
import { ImportProgress } from "../../../collector/commands/progress.ts";
import { recordsFromFile } from "../../../collector/sources/parse-file.ts";
import { sharedFixtures } from "../sources/fixture-paths.ts";
import { statSync } from "node:fs";
import { join } from "node:path";

function sink(isTTY: boolean) {
  const lines: string[] = [];
  return { lines, out: { isTTY, columns: 120, write: (t: string) => lines.push(t) } };
}

describe("backfill progress", () => {
  it("shows percentage, rate and ETA from the bytes read: half the file in 20 s leaves 20 s", () => {
    let now = 0;
    const { lines, out } = sink(false);
    const progress = new ImportProgress(out, 1000, () => now);
    now = 10_000;
    progress.records(400, 380);
    now = 20_000;
    progress.bytes(500);
    expect(lines.at(-1)).toBe("backfill: 50.0% 400 records parsed, 380 new, 20/s, ETA 20 s\n");
  });

  it("draws a bar on a terminal and a final summary line", () => {
    let now = 0;
    const { lines, out } = sink(true);
    const progress = new ImportProgress(out, 1000, () => now);
    now = 1000;
    progress.bytes(250);
    expect(lines.at(-1)).toContain("[##########------------------------------] 25.0%");
    now = 4000;
    progress.records(100, 100);
    progress.done();
    expect(lines.at(-1)).toBe("\rbackfill: 100 records parsed, 100 new, 25/s, 4.0 s\n");
  });

  it("the parser reports its read position up to the file's size", async () => {
    const file = join(sharedFixtures, "flexlm/debuglog-imsukh-autodesk.log");
    const seen: number[] = [];
    for await (const _ of recordsFromFile("flexlm-debuglog", file, { timezone: "UTC", onProgress: (b) => seen.push(b) }));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.at(-1)).toBe(statSync(file).size);
  });
});
