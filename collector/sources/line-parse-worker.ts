// A line file parsed on a second thread: the worker reads the file, splits it and runs the line
// source; the calling thread gets the events, packed as numbers (worker-link.ts), and feeds its
// session tracker — on a 1 GB debug log the two halves take about as long each, so the parse runs
// at the speed of the slower one instead of the sum (parse-file.ts uses it for large files).
import type { ParseStats, SourceOptions } from "./events.ts";
import { fileBlocks } from "./line-blocks.ts";
import { LineSplitter } from "./line-splitter.ts";
import { sourceKinds } from "./registry.ts";
import { PackPort, ParseWorkerError, runWorker, WorkerLink, workerJob, type EventBlock, type LinkedJob } from "./worker-link.ts";

export { ParseWorkerError };

/** The key of the worker's `workerData` (so the bundle knows to start the worker body). */
const JOB = "tallyLineParse";
/** Bytes read before the events so far are sent even if few (progress, and the tracker's turn). */
const SEND_BYTES = 256 * 1024;

interface Job extends LinkedJob { kind: string; file: string; options: SourceOptions; encoding: string }

type Message = { t: "done"; stats: ParseStats };

/** The file's events, a message at a time, with the bytes read so far; returns the source's counters. */
export async function* eventsFromWorker(kind: string, file: string, options: SourceOptions, encoding = "utf-8"): AsyncGenerator<EventBlock, ParseStats> {
  const link = new WorkerLink<Message>(import.meta.url, JOB, { kind, file, options, encoding }, file);
  try {
    for (;;) {
      const m = await link.next();
      if ("events" in m) yield m;
      else return m.stats;
    }
  } finally {
    await link.close();
  }
}

/** The worker's side: the whole file through the line source, its events sent in packs. */
function parseInWorker(job: Job): void {
  const port = new PackPort<Message>(job, job.options.name);
  let bytes = 0, bytesSent = 0;
  const factory = sourceKinds[job.kind];
  if (factory?.shape !== "lines") throw new RangeError(`${job.kind} is not a line source`);
  const source = factory.create(job.options);
  const splitter = new LineSplitter(job.encoding);
  for (const block of fileBlocks(job.file)) {
    bytes += block.length;
    port.read(source, splitter.pushText(block), bytes);
    if (bytes - bytesSent >= SEND_BYTES) {
      port.sendEvents(bytes);
      bytesSent = bytes;
    }
  }
  for (const line of splitter.end()) port.read(source, line, bytes);
  port.add(source.end(), bytes);
  if (port.packed > 0 || bytes > bytesSent) port.sendEvents(bytes);
  port.send({ t: "done", stats: source.stats() });
}

const job = workerJob<Job>(JOB);
if (job) runWorker(() => parseInWorker(job));
