// A real full disk: the log on a 1 MiB tmpfs, filled until the kernel answers ENOSPC. The failed
// batch must leave nothing (the log reads, verifies and reopens to exactly what append() reported),
// and once space is freed, acknowledge + release + append work again. Needs `mount -t tmpfs`
// (root, as in CI); skipped with the reason when mounting is not permitted.
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { smallTmpfs } from "../../support/small-tmpfs.ts";

const disk = await smallTmpfs("tally-enospc-", "1m");
const { mountPoint, skipReason } = disk;
afterAll(() => disk.remove());

const payload = (n: number) => new TextEncoder().encode(`{"n":${n},"pad":"${String(n % 10).repeat(8_000)}"}`);

it.skipIf(skipReason !== "")(`on a full tmpfs an append rejects with ENOSPC, appends nothing, and the log recovers once space is freed${skipReason ? ` (skipped: ${skipReason})` : ""}`, async () => {
  const dir = join(mountPoint, "log");
  // Ballast the operator can delete later, as one would free space on a full site disk.
  await writeFile(join(mountPoint, "ballast"), new Uint8Array(128 * 1024));
  const { log } = await SegmentLog.open(dir, { segmentBytes: 100_000 });
  let n = 0;
  let error: unknown = null;
  while (error === null) error = await log.append([payload(++n), payload(++n), payload(++n)]).then(() => null, (e: unknown) => e);
  expect(error).toMatchObject({ code: "ENOSPC" });
  const committed = n - 3;
  expect(committed).toBeGreaterThan(0);
  expect(log.lastSeq()).toBe(committed);
  expect((await log.verify()).ok).toBe(true);
  const entries = await log.read(1, { maxCount: committed, maxBytes: 64 * 1024 * 1024 });
  expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: committed }, (_, i) => i + 1));
  expect(entries.every((e) => Buffer.from(e.payload).equals(Buffer.from(payload(e.seq))))).toBe(true);
  await log.close();

  const reopened = await SegmentLog.open(dir, { segmentBytes: 100_000 });
  expect(reopened.recovery).toMatchObject({ droppedTail: null, lastSeq: committed, ackedSeq: 0 });
  await rm(join(mountPoint, "ballast"));
  await reopened.log.acknowledge(committed, { acked_seq: committed });
  expect((await reopened.log.release()).removedSegments.length).toBeGreaterThan(0);
  expect(await reopened.log.append([payload(++n)])).toEqual({ firstSeq: committed + 1, lastSeq: committed + 1 });
  await reopened.log.close();
});
