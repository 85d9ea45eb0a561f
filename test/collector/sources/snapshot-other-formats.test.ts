import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sourceKinds } from "../../../collector/sources/registry.ts";
import { SHARED_FIXTURES, shared } from "./snapshot-fixtures.ts";

// other/ holds LS-DYNA lstc_qrun and OLicense olixtool outputs: no configured kind reads them
// (DESIGN.md §9). Fed to a snapshot kind by mistake they must yield no usage and no crash.
const SNAPSHOT_KINDS = ["flexlm-lmstat", "rlm-rlmstat", "lmx", "dsls", "sentinel-lsmon"];
const cases = readdirSync(SHARED_FIXTURES + "other").flatMap((f) => SNAPSHOT_KINDS.map((k) => [f, k] as const));

describe("other/ fixtures belong to no snapshot kind", () => {
  it.each(cases)("%s read as %s: no event, every line counted unknown", (file, kind) => {
    const factory = sourceKinds[kind]!;
    if (factory.shape !== "snapshot") throw new Error(`${kind} is not a snapshot kind`);
    const text = shared("other/" + file);
    const r = factory.create({ name: kind, timezone: "UTC" }).parse(text, 0);
    expect(r.events).toEqual([]);
    expect(r.stats.unknown_lines).toBeGreaterThan(10);
  });
});
