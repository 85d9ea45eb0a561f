// DESIGN.md §4: `product` is an optional usage field (token pools) — a name when present,
// omitted otherwise, never null; a usage record with a bad one is stored but not rated.
import { describe, expect, it } from "vitest";
import { usageDataSchema } from "../../../shared/protocol/schema.ts";
import { rateability } from "../../../shared/protocol/rateable.ts";
import type { ChainRecord } from "../../../shared/protocol/schema.ts";

const usage = { source: "lic", daemon: "MSC", feature: "MSCONE", user: "ana", host: "ws-07", session: "s1", start: 1_700_000_000_000, end: 1_700_000_060_000, count: 5, final: true };
const record = (data: object): ChainRecord => ({ v: 1, collector_id: "col_x", seq: 1, prev: "0".repeat(64), ts: 1_700_000_100_000, kind: "usage", data: data as Record<string, unknown> });

describe("usage.product", () => {
  it("is accepted when it names a product, and optional", () => {
    expect(usageDataSchema.safeParse({ ...usage, product: "ODYSSEE_CAE" }).success).toBe(true);
    expect(usageDataSchema.safeParse(usage).success).toBe(true);
    expect(rateability(record({ ...usage, product: "ODYSSEE_CAE" }), 1_700_000_100_000, 0)).toEqual({ rateable: true });
  });

  it.each([[null], [""], [42], ["x".repeat(257)]])("%j is not a product: the record is quarantined, not rated", (product) => {
    expect(usageDataSchema.safeParse({ ...usage, product }).success).toBe(false);
    expect(rateability(record({ ...usage, product }), 1_700_000_100_000, 0)).toMatchObject({ rateable: false });
  });
});
