// Runs a snapshot source on a schedule: either a configured command (path + args, no shell,
// with a timeout) or a file some other job rewrites. Every poll ends as events for the session
// tracker (through SnapshotDiff) plus the source's health. A command that cannot start, fails
// without usable output, or times out becomes a `server_down` and an unhealthy source — never
// lost usage and never a crash of the collector.
import { isUtf8 } from "node:buffer";
import { execFile } from "node:child_process";
import { stat, readFile } from "node:fs/promises";
import type { ParseStats, SnapshotResult, SnapshotSource, SourceEvent } from "./events.ts";
import { SnapshotDiff, type SnapshotDiffState } from "./snapshot-diff.ts";
import { decodeOutput, markedEncoding } from "./snapshot-output.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";
import { CollectorError } from "../errors.ts";
import { HEAD_BYTES, kindInConfig, kindProblem } from "./kind-check.ts";
import { notUtf8InConfig } from "./parse-file.ts";

export interface PollerConfig {
  source: SnapshotSource;
  /** Command to run; its stdout is the output parsed (stderr only explains failures). */
  command?: { path: string; args: string[] };
  /** Or a file rewritten by another job; re-read only when its mtime changes. */
  file?: string;
  interval_s: number;
  /** Command time limit; default min(interval, 60 s). */
  timeout_s?: number;
  /** Text encoding of the output (WHATWG label: utf-8, latin1, windows-1252…). Default utf-8. */
  encoding?: string;
  /** The source's name when its encoding is the default, not given: an output that is not UTF-8 (and
   *  has no byte-order mark) is refused then (bad_config, bad_encoding), as a log's start is — read
   *  as UTF-8, a Windows server's `José` and `Josè` would both be `Jos�`, one user. */
  utf8Checked?: string;
  /** The kind and name of the source, to refuse an output of another kind (kind-check.ts: bad_config,
   *  wrong_kind or unrecognised_file) until a poll's output is of this kind — read as this kind, it
   *  would list no one, and the source would look up and idle. */
  kindChecked?: { kind: string; source: string };
}

export interface SourceHealth {
  /** undefined until the first poll that said something about the server. */
  up?: boolean;
  at?: number;
  reason?: string;
  last_ok?: number;
  consecutive_failures: number;
  stats?: ParseStats;
}

/** What a restart needs to go on where the last poll left off (kept with the tracker's state). */
export interface PollerState {
  diff: SnapshotDiffState;
  /** File sources: the mtime of the output last read. */
  last_mtime?: number;
}

export type PollSink = (events: SourceEvent[], result?: SnapshotResult) => void | Promise<void>;

interface CommandRun { stdout: string; stderr: string; failure?: string }

export class SnapshotPoller {
  private readonly config: PollerConfig;
  private readonly sink: PollSink;
  private readonly clock: () => number;
  private readonly diff = new SnapshotDiff();
  private readonly state: SourceHealth = { consecutive_failures: 0 };
  /** An output passed `checkKind`. */
  private kindSeen = false;
  private lastMtime: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(config: PollerConfig, sink: PollSink, clock: () => number = Date.now) {
    if (!config.command === !config.file) throw new Error("a snapshot source needs exactly one of command or file");
    this.config = config;
    this.sink = sink;
    this.clock = clock;
  }

  health(): SourceHealth {
    return { ...this.state };
  }

  save(): PollerState {
    return { diff: this.diff.save(), ...(this.lastMtime !== undefined ? { last_mtime: this.lastMtime } : {}) };
  }

  restore(state: PollerState): void {
    this.diff.restore(state.diff);
    this.lastMtime = state.last_mtime;
  }

  /** One poll: run/read, parse, diff, hand the events to the sink. */
  async pollOnce(): Promise<SourceEvent[]> {
    const got = this.config.command ? await this.runCommand() : await this.readFile();
    if (!got) return [];
    const { text, takenAt, failure } = got;
    if (failure === undefined) this.checkKind(text);
    const result = text.trim() === "" ? undefined : this.config.source.parse(text, takenAt);
    let events = result?.events ?? [];
    if (events.length === 0 && failure !== undefined) {
      events = [{ type: "server_down", at: wholeSecond(takenAt), reason: failure }];
    }
    this.record(events, takenAt, result, failure);
    const out = this.diff.apply(events);
    await this.sink(out, result);
    return out;
  }

  start(): void {
    this.stopped = false;
    const tick = (): void => {
      this.running = this.pollOnce().then(() => undefined, (err: unknown) => {
        this.state.reason = `poll failed: ${(err as Error).message}`;
        this.state.consecutive_failures++;
      }).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.config.interval_s * 1000);
      });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private record(events: SourceEvent[], takenAt: number, result: SnapshotResult | undefined, failure: string | undefined): void {
    const at = wholeSecond(takenAt);
    if (result) this.state.stats = result.stats;
    const down = events.find((e) => e.type === "server_down" && e.daemon === undefined);
    if (events.some((e) => e.type === "snapshot")) {
      Object.assign(this.state, { up: true, at, last_ok: at, consecutive_failures: 0 });
      delete this.state.reason;
    } else if (down && down.type === "server_down") {
      Object.assign(this.state, { up: false, at, reason: down.reason });
      this.state.consecutive_failures++;
    } else {
      // The output said nothing about usage (e.g. `lmstat -i`, an unknown tool): health unknown.
      this.state.at = at;
      this.state.reason = failure ?? "output carries no usage information";
    }
  }

  /** An output in the default encoding must be UTF-8 (`utf8Checked`); a byte-order mark decides itself. */
  private checkUtf8(bytes: Buffer, what: string): void {
    const source = this.config.utf8Checked;
    if (source === undefined || markedEncoding(bytes) !== undefined || isUtf8(bytes)) return;
    throw notUtf8InConfig(what, source);
  }

  /** Refuses an output of another kind (`kindChecked`), until one is of this kind: later ones are its server's too. */
  private checkKind(text: string): void {
    const checked = this.config.kindChecked;
    if (checked === undefined || this.kindSeen) return;
    const what = this.config.file ?? `the output of ${this.config.command!.path}`;
    const problem = kindProblem(checked.kind, Buffer.from(text.slice(0, HEAD_BYTES)), "utf-8", what);
    if (problem) throw kindInConfig(problem, checked.source);
    if (text.trim() !== "") this.kindSeen = true;
  }

  private decode(bytes: Buffer): string {
    return decodeOutput(bytes, this.config.encoding);
  }

  private runCommand(): Promise<{ text: string; takenAt: number; failure?: string }> {
    const { path, args } = this.config.command!;
    // Started-at, not finished-at: what the output shows was held at some moment after this.
    const takenAt = this.clock();
    const timeoutMs = (this.config.timeout_s ?? Math.min(this.config.interval_s, 60)) * 1000;
    return new Promise((resolve, reject) => {
      execFile(path, args, {
        encoding: "buffer", timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 64 * 1024 * 1024, windowsHide: true,
        // License tools print localised text otherwise; the parsers read the C locale.
        env: { ...process.env, LANG: "C", LC_ALL: "C" },
      }, (err, stdout, stderr) => {
        try {
          this.checkUtf8(stdout, `the output of ${path}`);
        } catch (e) {
          reject(e);
          return;
        }
        const run: CommandRun = { stdout: this.decode(stdout), stderr: this.decode(stderr) };
        if (err) run.failure = describeFailure(err, path, timeoutMs, run.stderr);
        resolve({ text: run.stdout, takenAt, ...(run.failure ? { failure: run.failure } : {}) });
      });
    });
  }

  private async readFile(): Promise<{ text: string; takenAt: number; failure?: string } | undefined> {
    const file = this.config.file!;
    try {
      const info = await stat(file);
      if (info.mtimeMs === this.lastMtime) return undefined; // nothing new since the last read
      const bytes = await readFile(file);
      this.checkUtf8(bytes, file);
      this.lastMtime = info.mtimeMs;
      // No output is taken after now: a file written on a machine whose clock is ahead (a share, a
      // copy) would bill every listed session up to its mtime, hours or years that have not passed.
      return { text: this.decode(bytes), takenAt: Math.min(info.mtimeMs, this.clock()) };
    } catch (err) {
      if (err instanceof CollectorError) throw err;
      return { text: "", takenAt: this.clock(), failure: `cannot read ${file}: ${(err as Error).message}` };
    }
  }
}

function describeFailure(err: Error & { code?: unknown; killed?: boolean; signal?: unknown }, path: string, timeoutMs: number, stderr: string): string {
  if (err.killed || err.signal === "SIGKILL") return `${path} timed out after ${timeoutMs / 1000} s`;
  const detail = stderr.trim().split(/\r?\n/)[0] ?? "";
  if (typeof err.code === "string") return `${path} could not run (${err.code})`;
  return `${path} exited with status ${String(err.code)}${detail ? `: ${detail}` : ""}`;
}
