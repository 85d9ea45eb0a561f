// For all payload sequences, batchings, segment sizes and reopen points: what goes in comes out,
// byte for byte, numbered contiguously from 1. SEED=S replays a run.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { SegmentLog } from "../../../collector/log/segment-log.ts";

const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));

it(`arbitrary payloads round-trip through append, reopen and read (seed ${SEED})`, async () => {
  console.log(`round-trip property: SEED=${SEED}`);
  const root = await mkdtemp(join(tmpdir(), "tally-log-prop-"));
  let run = 0;
  try {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ payloads: fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 12 }), reopenAfter: fc.boolean() }), { maxLength: 8 }),
        fc.integer({ min: 1, max: 1500 }),
        fc.integer({ min: 1, max: 50 }),
        async (batches, segmentBytes, readCount) => {
          const dir = join(root, `run-${run++}`);
          let { log } = await SegmentLog.open(dir, { segmentBytes });
          const expected: Uint8Array[] = [];
          try {
            for (const { payloads, reopenAfter } of batches) {
              const result = await log.append(payloads);
              expect(result).toEqual({ firstSeq: expected.length + 1, lastSeq: expected.length + payloads.length });
              expected.push(...payloads);
              if (reopenAfter) {
                await log.close();
                ({ log } = await SegmentLog.open(dir, { segmentBytes }));
              }
            }
            expect(log.lastSeq()).toBe(expected.length);
            const got: Array<{ seq: number; payload: Uint8Array }> = [];
            for (let from = 1; from <= log.lastSeq(); from = got.length + 1) got.push(...(await log.read(from, { maxCount: readCount })));
            expect(got.map((e) => e.seq)).toEqual(expected.map((_, i) => i + 1));
            expect(got.map((e) => Buffer.from(e.payload).toString("hex"))).toEqual(expected.map((p) => Buffer.from(p).toString("hex")));
          } finally {
            await log.close();
            await rm(dir, { recursive: true, force: true });
          }
        },
      ),
      { seed: SEED, numRuns: 150 },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
