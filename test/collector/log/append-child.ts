// Child process for kill-loop.test.ts: appends records in small group commits until it is
// SIGKILLed, printing "<seq>" for each entry only after its append resolved (fsync'd), and
// "acked <seq>" after an acknowledge resolved. stdout to a pipe is synchronous on Linux, so a
// printed line survives the kill.
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { killLoopPayload, KILL_LOOP_SEGMENT_BYTES } from "./kill-loop-payload.ts";

const [dir, seedText] = process.argv.slice(2);
if (!dir || !seedText) throw new Error("usage: append-child.ts DIR SEED");
let state = Number(seedText) >>> 0;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const { log } = await SegmentLog.open(dir, { segmentBytes: KILL_LOOP_SEGMENT_BYTES });
process.stdout.write("ready\n");
for (let batch = 1; ; batch++) {
  const count = 1 + Math.floor(random() * 8);
  const first = log.lastSeq() + 1;
  const { lastSeq } = await log.append(Array.from({ length: count }, (_, i) => killLoopPayload(first + i)));
  let lines = "";
  for (let seq = first; seq <= lastSeq; seq++) lines += `${seq}\n`;
  process.stdout.write(lines);
  if (batch % 10 === 0 && lastSeq - 20 > log.ackedSeq()) {
    await log.acknowledge(lastSeq - 20, { acked_seq: lastSeq - 20, batch });
    process.stdout.write(`acked ${lastSeq - 20}\n`);
    await log.release();
  }
}
