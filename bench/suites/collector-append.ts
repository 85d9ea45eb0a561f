// Collector log append throughput: ~300-byte hash-chained usage records (RFC 8785 bytes,
// SHA-256 chain), appended in group commits of 100 with one fsync each, against the limit of
// writing the same bytes to a plain file with the same number of fsyncs.
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import canonicalize from "canonicalize";
import { SegmentLog } from "../../collector/log/segment-log.ts";
import { throughputFigure, type BenchFigure } from "../figure.ts";

const RECORDS = 50_000;
const BATCH = 100;

/** Makes records as the collector would: canonical bytes, each `prev` the hash of the one before. */
function recordMaker(): (count: number) => Uint8Array[] {
  const encoder = new TextEncoder();
  let prev = "0".repeat(64);
  let seq = 0;
  return (count) => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      seq++;
      const start = 1764280000000 + seq * 60_000;
      const record = {
        v: 1, collector_id: "col_01JDX4T9W2Q8M3", seq, prev, ts: start + 60_000, kind: "usage",
        data: {
          source: "flexlm-main", daemon: "MLM", feature: seq % 3 === 0 ? "Simulink" : "MATLAB", version: "23.2",
          user: `user${seq % 17}`, host: `ws-${seq % 11}.plant.example`, session: `s-${Math.floor(seq / 4)}`,
          start, end: start + 60_000, count: 1 + (seq % 2), final: seq % 4 === 0,
        },
      };
      const bytes = encoder.encode(canonicalize(record)!);
      prev = bytesToHex(sha256(bytes));
      out.push(bytes);
    }
    return out;
  };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

export default async function collectorAppend(): Promise<BenchFigure[]> {
  const root = await mkdtemp(join(tmpdir(), "tally-bench-append-"));
  const plain = await open(join(root, "plain.bin"), "w");
  const { log } = await SegmentLog.open(join(root, "log"));
  const { log: chained } = await SegmentLog.open(join(root, "chained"));
  try {
    const records = recordMaker()(RECORDS);
    const makeMore = recordMaker();
    const meanBytes = Math.round(records.reduce((n, r) => n + r.length, 0) / records.length);
    const ms = { plain: 0, log: 0, chained: 0 };
    let position = 0;
    // The three writers take turns batch by batch, so each sees the same disk: fsync latency on a
    // shared machine drifts by an order of magnitude over seconds.
    for (let i = 0; i < records.length; i += BATCH) {
      const batch = records.slice(i, i + BATCH);
      const turns = [
        async () => (ms.plain += await timed(async () => {
          const bytes = Buffer.concat(batch);
          await plain.write(bytes, 0, bytes.length, position);
          position += bytes.length;
          await plain.sync();
        })),
        async () => (ms.log += await timed(() => log.append(batch))),
        async () => (ms.chained += await timed(() => chained.append(makeMore(BATCH)))),
      ];
      // Rotate who goes first: an fsync right after another one's is cheaper or dearer.
      for (let k = 0; k < turns.length; k++) await turns[(i / BATCH + k) % turns.length]!();
    }
    const perSecond = (total: number) => RECORDS / (total / 1000);
    const baselineName = `plain file write + fsync per ${BATCH} records`;
    const notes = `${RECORDS} records, mean ${meanBytes} B, ${RECORDS / BATCH} fsyncs each, ${tmpdir()}`;
    return [
      throughputFigure(`collector log append (group commit ${BATCH})`, "records/s", perSecond(ms.log), baselineName, perSecond(ms.plain), notes),
      throughputFigure("collector build (JCS + SHA-256 chain) + log append", "records/s", perSecond(ms.chained), baselineName, perSecond(ms.plain), notes),
    ];
  } finally {
    await plain.close();
    await log.close();
    await chained.close();
    await rm(root, { recursive: true, force: true });
  }
}
