// The parse worker reads a debug log with a sink (worker-link.ts): a checkout or check-in that goes
// out as it is is written to it without an event object. Through the sink or not, every debug-log
// fixture gives the same events in the same order and the same counters; the ones that must go the
// long way (held for a date, waiting for a wrapped suffix, a package's) still do. The property test
// (debuglog-property.test.ts) reads its random logs through a sink too, against their truth.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import { FlexlmDebugLogSource } from "../../../collector/sources/flexlm-debuglog.ts";
import { fileBlocks } from "../../../collector/sources/line-blocks.ts";
import { LineSplitter } from "../../../collector/sources/line-splitter.ts";
import { CollectingSink } from "./collecting-sink.ts";
import { sharedFixtures } from "./fixture-paths.ts";

const fixtures = readdirSync(join(sharedFixtures, "flexlm")).filter((f) => f.startsWith("debuglog-"));

function read(name: string, withSink: boolean) {
  const source = new FlexlmDebugLogSource({ name: "lic", timezone: "Europe/Madrid", ...(name.includes("autodesk") ? { package_features: ["87048INVNTOR_2020_0F"] } : {}) });
  const events: SourceEvent[] = [];
  const sink = withSink ? new CollectingSink((e) => events.push(e)) : undefined;
  const splitter = new LineSplitter();
  const out: SourceEvent[] = [];
  const pass = () => {
    for (const e of out) events.push(e);
    out.length = 0;
  };
  for (const block of fileBlocks(join(sharedFixtures, "flexlm", name))) {
    source.pushText(splitter.pushText(block), out, sink);
    pass();
  }
  for (const line of splitter.end()) source.pushText(line, out, sink);
  pass();
  for (const e of source.end()) events.push(e);
  return { events, stats: source.stats(), written: sink?.written ?? 0 };
}

describe("flexlm-debuglog read with a sink", () => {
  it.each(fixtures)("%s: the same events, in order, and the same counters", (name) => {
    const plain = read(name, false);
    const sunk = read(name, true);
    expect(sunk.events).toStrictEqual(plain.events);
    expect(sunk.stats).toEqual(plain.stats);
    const usage = plain.events.filter((e) => e.type === "checkout" || e.type === "checkin").length;
    expect(sunk.written).toBeLessThanOrEqual(usage);
  });

  it("the sink takes most usage lines, with handles and token-pool products; held, wrapped and package lines go the long way", () => {
    const written = (name: string) => read(name, true).written;
    const usage = (name: string) => read(name, false).events.filter((e) => e.type === "checkout" || e.type === "checkin");
    // Verbose lines name the handle; MSC pools name the product.
    for (const name of ["debuglog-synthetic-datestamp-verbose.log", "debuglog-synthetic-msc-pools.log", "debuglog-justbennet-ansys.log"]) expect(written(name), name).toBeGreaterThan(0);
    expect(usage("debuglog-synthetic-datestamp-verbose.log").some((e) => e.handle !== undefined)).toBe(true);
    expect(usage("debuglog-synthetic-msc-pools.log").some((e) => e.product !== undefined)).toBe(true);
    // A wrapped suffix waits for the next line; Autodesk's packages are paired by the package filter;
    // lines before the first date are held: none of those are written to the sink.
    for (const name of ["debuglog-synthetic-wrapped-suffix.log", "debuglog-imsukh-autodesk.log", "debuglog-synthetic-undated-dst-start.log"]) expect(written(name), name).toBeLessThan(usage(name).length);
  });
});
