// A local edge on Miniflare, in this process: the Worker bundle built once per source tree (the
// core's build, scripts/core/build.ts, shared by every file of a run through its cache) on
// workerd, D1 and the Durable Objects persisted where `wrangler dev --persist-to` keeps them, so a
// state dir is interchangeable between the two. Development rules (X-Tally-Now, the clock offset,
// the development aids), as `wrangler dev` gives them.
//
// It starts in about a second where `wrangler dev` takes 8–14 s on a loaded 2-core machine (it
// bundles the Worker again for every edge and puts a proxy Worker in front of it), so it is the
// test edge by default (local-edge.ts); suites that exercise wrangler itself ask for it.
import { join } from "node:path";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import { buildWorker } from "../../scripts/core/runtime.ts";
import { coreBuild } from "./core-process.ts";

export interface MiniflareEdgeOptions {
  persistDir: string;
  /** Bindings: secrets, vars (TALLY_ENV is "development" unless one says otherwise). */
  bindings: Record<string, string>;
}

export interface MiniflareEdge {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** Keeps miniflare's messages and the Worker's console for a failure message. */
class KeptLog extends Log {
  readonly #keep: (line: string) => void;
  constructor(keep: (line: string) => void) {
    super(LogLevel.WARN);
    this.#keep = keep;
  }
  override log(message: string): void {
    this.#keep(message);
  }
}

export async function startMiniflareEdge(options: MiniflareEdgeOptions): Promise<MiniflareEdge> {
  const build = await coreBuild();
  let output = "";
  const keep = (line: string) => {
    output += `${line}\n`;
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    resourcePersistencePath: join(options.persistDir, "v3"),
    cf: false,
    telemetry: { enabled: false },
    logRequests: false,
    log: new KeptLog(keep),
    handleStructuredLogs: ({ level, message }: { level: string; message: string }) => keep(`[${level}] ${message}`),
    workers: [buildWorker(build, { ...build.worker.vars, TALLY_ENV: "development", ...options.bindings })],
  } as never));
  const url = await mf.ready;
  return { url: url.origin, output: () => output, stop: () => mf.dispose() };
}
