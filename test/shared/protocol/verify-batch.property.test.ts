import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hashCanonical, initialChainState, verifyBatch, type Batch, type ChainState } from "../../../shared/protocol/index.ts";
import { testSeed } from "../../support/seed.ts";
import { attacker, buildChain, clone, COLLECTOR, sign, site } from "./chain-fixture.ts";

type Tamper =
  | { kind: "none" }
  | { kind: "edit"; batch: number; at: number; value: number }
  | { kind: "delete"; batch: number; at: number }
  | { kind: "swap"; batch: number; at: number }
  | { kind: "duplicate"; batch: number; at: number }
  | { kind: "forge"; batch: number };

const where = { batch: fc.nat(), at: fc.nat() };
const tamperArb: fc.Arbitrary<Tamper> = fc.oneof(
  fc.constant<Tamper>({ kind: "none" }),
  fc.record({ kind: fc.constant("edit" as const), ...where, value: fc.integer({ min: 2, max: 1000 }) }),
  fc.record({ kind: fc.constant("delete" as const), ...where }),
  fc.record({ kind: fc.constant("swap" as const), ...where }),
  fc.record({ kind: fc.constant("duplicate" as const), ...where }),
  fc.record({ kind: fc.constant("forge" as const), batch: fc.nat() }),
);

/** Tampers with one signed batch after signing (in transit, or in the log after the checkpoint). */
function tamperBatch(batch: Batch, t: Tamper): Batch {
  const out = clone(batch);
  const records = out.records;
  const at = "at" in t ? t.at % records.length : 0;
  switch (t.kind) {
    case "edit": (records[at]!.data as { count: number }).count = t.value; break;
    case "delete": records.splice(at, 1); break;
    case "swap": if (records.length > 1) { const j = (at + 1) % records.length; [records[at], records[j]] = [records[j]!, records[at]!]; } break;
    case "duplicate": records.splice(at, 0, clone(records[at]!)); break;
    case "forge": return sign(records, attacker.secretKey);
  }
  return out;
}

describe("verifyBatch accepts exactly the untampered chains", () => {
  it("in any batching, a chain is accepted whole iff nobody tampered with it after signing, and no tampered record is ever accepted", () => {
    const seed = testSeed("verifyBatch property");
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 25 }), fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 10 }), tamperArb, (n, sizes, tamper) => {
        const chain = buildChain(n);
        const batches: Batch[] = [];
        for (let offset = 0, b = 0; offset < n; b++) {
          const size = sizes[b % sizes.length]!;
          batches.push(sign(chain.slice(offset, offset + size)));
          offset += size;
        }
        const target = "batch" in tamper ? tamper.batch % batches.length : -1;
        const sent = batches.map((b, i) => (i === target ? tamperBatch(b, tamper) : b));
        const changed = target >= 0 && JSON.stringify(sent[target]) !== JSON.stringify(batches[target]);

        let state: ChainState = initialChainState(COLLECTOR, site.publicKey);
        const stored = new Map<number, string>();
        const truth = new Map(chain.map((r) => [r.seq, hashCanonical(r)]));
        const rejected: string[] = [];
        for (const batch of sent) {
          const result = verifyBatch(state, clone(batch), (s) => stored.get(s));
          if (!result.ok) { rejected.push(result.error.error); continue; }
          for (const h of result.accepted) {
            expect(h.hash).toBe(truth.get(h.record.seq));
            stored.set(h.record.seq, h.hash);
          }
          state = result.state;
        }
        if (!changed) {
          expect(rejected).toEqual([]);
          expect(state.hwm).toBe(n);
        } else {
          expect(rejected.length).toBeGreaterThan(0);
          expect(state.hwm).toBeLessThan(n);
        }
      }),
      { seed, numRuns: 300 },
    );
  });
});
