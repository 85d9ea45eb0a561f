// A line file read in steps on a second thread (line-reader.ts: `backfill` of a large file, and the
// daemon's first start on a big log): the worker runs the file tail and the line source exactly as
// LineReader runs them on one thread — the same slices, in the same runs of `stepBytes` — and sends
// each slice's events (packed, worker-link.ts) followed by what the slice ended with: the tail's
// position and the parser's saved state as they stood after its last line. The calling thread feeds
// the events to its session tracker and ends a step at a run's end, or at an earlier slice once the
// step's records reach their budget (line-slices.ts), saving there the tracker's state with that
// slice's position and parser state: the three belong together exactly as on one thread, so a saved
// state is the same either way and an import stopped anywhere goes on from it on either. The worker
// reads ahead (at most IN_FLIGHT messages) until a run catches up with the file, and stops there:
// the caller reads on itself from that slice's position and parser state.
import type { LineSource, SourceOptions } from "../sources/events.ts";
import { sourceKinds } from "../sources/registry.ts";
import { FileTail, type TailPosition } from "../sources/tail.ts";
import type { TailChunk } from "../sources/tail-chunk.ts";
import { PackPort, runWorker, WorkerLink, workerJob, type EventBlock, type LinkedJob } from "../sources/worker-link.ts";
import { readSlices, type SliceRead } from "./line-slices.ts";

const JOB = "tallyLineSteps";

export interface StepJob {
  kind: string;
  file: string;
  options: SourceOptions;
  encoding: string;
  position: TailPosition | undefined;
  /** The parser's saved state to go on from. */
  parser: unknown;
  /** Bytes a step reads at most (LineReader.read's maxBytes). */
  stepBytes: number;
}

/** How a step ended, on the worker: what LineReader keeps of a step it read itself. */
export interface StepEnd extends SliceRead {
  unknown_lines: number;
  position: TailPosition | undefined;
  parser: unknown;
  /** The file's size as of the step's stat (progress). */
  size: number;
}

/** How a slice ended: a step's end if the caller ends the step there; `last`: it ends a run of `stepBytes`. */
type SliceEnd = StepEnd & { last: boolean };

type Message = { t: "slice"; end: SliceEnd };

/** The calling thread's end: started by the first step, which sets the size of every step. */
export class StepWorker {
  /** Where the reading stands: as of the last step read (before the first: where it starts). */
  position: TailPosition | undefined;
  parser: unknown;
  /** The file's size as of the last step's stat. */
  size = 0;
  readonly #job: Omit<StepJob, "stepBytes">;
  #link: WorkerLink<Message> | undefined;
  #stepBytes = 0;

  /** `job.parser`: the saved parser state to go on from, if any (`parser` here starts as `parserNow`). */
  constructor(job: Omit<StepJob, "stepBytes">, parserNow: unknown) {
    this.#job = job;
    this.position = job.position;
    this.parser = parserNow;
  }

  /** The next step: its events to `feed`, a pack at a time, then how it ended — at the end of a run
   *  of `stepBytes`, or after an earlier slice when `stop()` says so. The step that catches up is the
   *  worker's last (it ends itself): `takeOver` the reading then. */
  async step(stepBytes: number, feed: (block: EventBlock) => void | Promise<void>, stop: () => boolean = () => false): Promise<StepEnd> {
    if (this.#link === undefined) {
      this.#stepBytes = stepBytes;
      this.#link = new WorkerLink<Message>(import.meta.url, JOB, { ...this.#job, stepBytes } satisfies StepJob, this.#job.file);
    } else if (stepBytes !== this.#stepBytes) throw new RangeError(`the step worker's steps all read ${this.#stepBytes} bytes, not ${stepBytes}`);
    let lines = 0, bytes = 0, unknown = 0;
    for (;;) {
      const m = await this.#link.next();
      if ("events" in m) {
        await feed(m);
        continue;
      }
      const { last, ...end } = m.end;
      lines += end.lines;
      bytes += end.bytes;
      unknown += end.unknown_lines;
      ({ position: this.position, parser: this.parser, size: this.size } = end);
      if (last || stop()) return { ...end, lines, bytes, unknown_lines: unknown };
    }
  }

  /** The parser and the file tail to read on with on this thread, from where the last step ended. */
  async takeOver(): Promise<{ parser: LineSource; tail: FileTail }> {
    await this.close();
    const parser = sourceKinds[this.#job.kind]!.create(this.#job.options) as LineSource;
    if (this.parser !== undefined) parser.restore?.(this.parser);
    return { parser, tail: await FileTail.continued(this.#job.file, this.position, { encoding: this.#job.encoding }) };
  }

  async close(): Promise<void> {
    await this.#link?.close();
  }
}

/** The worker's side: steps until one catches up with the file. */
async function stepsInWorker(job: StepJob & LinkedJob): Promise<void> {
  const port = new PackPort<Message>(job, job.options.name);
  const factory = sourceKinds[job.kind];
  if (factory?.shape !== "lines") throw new RangeError(`${job.kind} is not a line source`);
  const parser = factory.create(job.options);
  if (job.parser !== undefined) parser.restore?.(job.parser);
  const tail = new FileTail(job.file, job.position, { encoding: job.encoding, reuseBuffers: true }); // `feed` is done with each slice as it comes
  let bytes = 0;
  const feed = (chunk: TailChunk, last: boolean) => {
    const unknownBefore = parser.stats().unknown_lines;
    bytes += chunk.bytes;
    for (const block of chunk.blocks) port.read(parser, block, bytes);
    const end: SliceEnd = {
      lines: chunk.lineCount, bytes: chunk.bytes, caughtUp: chunk.caughtUp, missing: chunk.missing === true, last,
      unknown_lines: parser.stats().unknown_lines - unknownBefore, position: tail.position(), parser: parser.save?.(), size: tail.progress().size,
    };
    port.send({ t: "slice", end }, bytes);
  };
  for (let caughtUp = false; !caughtUp; ) caughtUp = (await readSlices(tail, job.stepBytes, feed)).caughtUp;
  await tail.close();
}

const job = workerJob<StepJob & LinkedJob>(JOB);
if (job) runWorker(() => stepsInWorker(job));
