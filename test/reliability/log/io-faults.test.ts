// Guarantee 1 for the log under I/O errors: a write that fails (EIO), an fsync that fails (EIO,
// with Linux's "fsyncgate" semantics: the dirty pages are then lost or half-written and a later
// fsync does not write them again), a disk that fills partway through a write (ENOSPC), injected
// at every I/O step of a scripted open / append / acknowledge / release / close, once and twice
// in a row (the second hits the rollback). append() must reject whenever its data is not durable,
// the log must stay usable or refuse with `log_closed`, and after a power cut that drops every
// unsynced byte, or applies random fates, no entry append() reported and no acknowledged cursor is
// lost. SEED=S replays the random fates; IOFAULT_ROUNDS=N (default 1, 50 with SOAK=1) repeats.
import { describe, expect, it } from "vitest";
import { LogError } from "../../../collector/log/errors.ts";
import type { SegmentLog } from "../../../collector/log/segment-log.ts";
import { seededRandom, testSeed } from "../../support/seed.ts";
import { LogModel } from "./log-model.ts";
import { SimulatedDisk, faultsFor } from "./simulated-disk.ts";

const SEGMENT_BYTES = 300;
/** Each round fails every step again, with other random fates for the power cuts after it. */
const ROUNDS = Number(process.env.IOFAULT_ROUNDS ?? (process.env.SOAK ? 50 : 1));
const payload = (n: number, size = 60) => new TextEncoder().encode(`{"n":${n},"pad":"${"x".repeat(size)}"}`);

interface ScriptResult { model: LogModel; failures: string[]; reopenedAfterLogClosed: number }

/** The scripted session. Each operation is retried after a failure (faults are one-shot); a log
 *  that answers `log_closed` is reopened. Any other error than the injected one fails the test. */
async function script(disk: SimulatedDisk): Promise<ScriptResult> {
  const model = new LogModel();
  const failures: string[] = [];
  let reopenedAfterLogClosed = 0;
  let log: SegmentLog | null = null;
  const attempt = async (operation: (log: SegmentLog) => Promise<unknown>): Promise<void> => {
    for (let tries = 0; tries < 4; tries++) {
      try {
        if (!log) log = (await model.reopen(disk, SEGMENT_BYTES)).log!;
        await operation(log);
        return;
      } catch (e) {
        const code = (e as { code?: string }).code ?? String(e);
        failures.push(code);
        if (e instanceof LogError && e.code === "log_closed") {
          await log!.close();
          log = null;
          reopenedAfterLogClosed++;
        } else {
          expect(["EIO", "ENOSPC"], `unexpected error ${code}: ${(e as Error).message}`).toContain(code);
        }
      }
    }
    throw new Error(`an operation still failed after ${failures.length} tries: ${failures.join(", ")}`);
  };
  let n = 0;
  const batch = (count: number) => Array.from({ length: count }, () => payload(++n));
  await attempt(async () => undefined); // open
  await attempt((l) => model.append(l, batch(3)));
  await attempt((l) => model.append(l, batch(5))); // rolls into new segments mid-batch
  await attempt((l) => model.acknowledge(l, l.lastSeq() - 2));
  await attempt((l) => l.release());
  await attempt((l) => model.append(l, batch(2)));
  await attempt((l) => model.acknowledge(l, l.lastSeq()));
  await attempt((l) => l.release());
  await attempt(async (l) => {
    await l.close();
    log = null;
  });
  await attempt((l) => model.append(l, batch(1))); // reopens first
  await attempt(async (l) => {
    await l.close();
    log = null;
  });
  return { model, failures, reopenedAfterLogClosed };
}

/** After the session: the harshest power cut (every unsynced write and directory change lost)
 *  and one with random fates; both must keep everything the session was told. */
async function expectNothingLost(disk: SimulatedDisk, model: LogModel): Promise<void> {
  for (const profile of ["drop_all", "any"] as const) {
    const copy = Object.assign(new LogModel(), { committed: new Map(model.committed), attempted: new Map(model.attempted), ackedAtLeast: model.ackedAtLeast, ackedAtMost: model.ackedAtMost });
    // Reopening takes a lock file, which needs a few bytes (more with a longer pid): the
    // operator has freed space by then. What is checked is what survived, not the free space.
    const afterCut = disk.powerCut(profile);
    afterCut.setCapacity(Number.MAX_SAFE_INTEGER);
    const { outcome, log } = await copy.reopen(afterCut, SEGMENT_BYTES);
    if (profile === "drop_all") expect(outcome).toEqual({ kind: "opened", droppedTail: null });
    await log?.close();
  }
}

describe("I/O faults at every step of append, acknowledge and release", () => {
  const seed = testSeed("log io faults");

  it("without faults the script makes every kind of step it will be failed at", async () => {
    const disk = new SimulatedDisk({ random: seededRandom(seed) });
    const { model, failures } = await script(disk);
    expect(failures).toEqual([]);
    expect(model.lastCommitted()).toBe(11);
    expect(model.ackedAtLeast).toBe(10);
    for (const kind of ["mkdir", "create", "open", "write", "sync", "fsync_dir", "rename", "link", "unlink"] as const) expect(disk.steps).toContain(kind);
  });

  it("one failing step, anywhere: the failed call rejects, the log goes on, nothing reported is lost", async () => {
    const reference = new SimulatedDisk({ random: seededRandom(seed) });
    await script(reference);
    let runs = 0;
    let rejected = 0;
    for (let round = 0; round < ROUNDS; round++) for (const [i, kind] of reference.steps.entries()) {
      for (const fault of faultsFor(kind)) {
        const disk = new SimulatedDisk({ random: seededRandom(seed + runs++) });
        disk.injectFault(i + 1, fault);
        const result = await script(disk).catch((e: Error) => {
          throw new Error(`fault ${fault} at step ${i + 1} (${kind}): ${e.message}`, { cause: e });
        });
        expect(result.failures.length, `fault ${fault} at step ${i + 1} (${kind}) was not reported`).toBeGreaterThanOrEqual(1);
        rejected += result.failures.length;
        await expectNothingLost(disk, result.model);
      }
    }
    console.log(`log io faults: ${runs} runs, one fault each at ${reference.steps.length} steps, ${rejected} rejected calls`);
    expect(runs).toBeGreaterThan(reference.steps.length);
  });

  it("two failing steps in a row (the second hits the rollback): log_closed, then a reopen recovers", async () => {
    const reference = new SimulatedDisk({ random: seededRandom(seed) });
    await script(reference);
    let closed = 0;
    for (let step = 1; step < reference.steps.length; step++) {
      const disk = new SimulatedDisk({ random: seededRandom(seed + step) });
      disk.injectFault(step, "eio");
      disk.injectFault(step + 1, "eio");
      const result = await script(disk).catch((e: Error) => {
        throw new Error(`eio at steps ${step} and ${step + 1} (${reference.steps[step - 1]}, ${reference.steps[step]}): ${e.message}`, { cause: e });
      });
      closed += result.reopenedAfterLogClosed;
      await expectNothingLost(disk, result.model);
    }
    console.log(`log io faults: ${reference.steps.length - 1} double faults, ${closed} answered log_closed and were reopened`);
    expect(closed).toBeGreaterThan(0);
  });
});

describe("a full disk", () => {
  it("an append that runs out of space rejects with ENOSPC and leaves nothing; once acknowledged, release makes room again", async () => {
    const disk = new SimulatedDisk({ random: seededRandom(1), capacity: 2_000 });
    const model = new LogModel();
    const { log } = await model.reopen(disk, SEGMENT_BYTES);
    let n = 0;
    let error: unknown = null;
    while (error === null) error = await model.append(log!, [payload(++n), payload(++n)]).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: "ENOSPC" });
    const committed = model.lastCommitted();
    expect(log!.lastSeq()).toBe(committed);
    expect((await log!.verify()).ok).toBe(true);
    // The rollback gave back the failed batch's bytes; what is left is less than that batch needed
    // (its new segment and the sealed one's index) but may hold a smaller one: fill it to the brim.
    const used = [...disk.files(log!.dir).values()].reduce((sum, file) => sum + file.length, 0);
    disk.setCapacity(used);
    // Retrying while the disk is full fails the same way and still appends nothing.
    await expect(model.append(log!, [payload(++n)])).rejects.toMatchObject({ code: "ENOSPC" });
    expect(log!.lastSeq()).toBe(committed);
    // The cursor needs space too: its replacement fails and the old cursor stands.
    await expect(model.acknowledge(log!, committed)).rejects.toMatchObject({ code: "ENOSPC" });
    expect(log!.ackedSeq()).toBe(0);
    // The operator frees space elsewhere; acknowledge, then release gives the log room of its own.
    disk.setCapacity(used + 500);
    await model.acknowledge(log!, committed);
    expect((await log!.release()).removedSegments.length).toBeGreaterThan(0);
    disk.setCapacity(used);
    await model.append(log!, [payload(++n)]);
    expect(log!.lastSeq()).toBe(committed + 1);
    await log!.close();
    await expectNothingLost(disk, model);
  });

  it(`ENOSPC partway through a write at a random byte never appends part of a batch (several byte counts)`, async () => {
    for (const capacity of [700, 701, 745, 799, 1000, 1333]) {
      const disk = new SimulatedDisk({ random: seededRandom(capacity), capacity });
      const model = new LogModel();
      const { log } = await model.reopen(disk, SEGMENT_BYTES);
      let n = 0;
      let error: unknown = null;
      while (error === null) error = await model.append(log!, [payload(++n, 40), payload(++n, 7), payload(++n, 90)]).then(() => null, (e: unknown) => e);
      expect(error, `capacity ${capacity}`).toMatchObject({ code: "ENOSPC" });
      expect(log!.lastSeq() % 3, `capacity ${capacity}: a partial batch was kept`).toBe(0);
      await log!.close();
      await expectNothingLost(disk, model);
    }
  });
});
