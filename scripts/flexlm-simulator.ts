// A simulated FlexLM vendor daemon: writes a realistic lmgrd/vendor debug log (start-up banner,
// TIMESTAMP lines, OUT/IN with user names that have spaces, multi-license checkouts, DENIED and
// UNSUPPORTED noise) so `npm start` and the end-to-end tests have a live license server to read.
// `flexlmLine` and `banner` are the line format, shared with the history writer
// (scripts/demo-history.ts).
import { appendFileSync, writeFileSync } from "node:fs";
import { mulberry32 } from "../shared/random/mulberry32.ts";
import { wholeSecond } from "../shared/time/whole-second.ts";
import { wallTimeAt } from "../shared/time/zoned.ts";

export interface SimulatorOptions {
  file: string;
  timezone: string;
  seed?: number;
  daemon?: string;
  features?: string[];
  users?: string[];
  /** Probability per step that a new checkout happens. */
  checkoutRate?: number;
}

/** `HH:MM:SS (who) text`, the clock in the server's time zone (hours space-padded, as lmgrd prints them). */
export function flexlmLine(now: number, timezone: string, who: string, text: string): string {
  const w = wallTimeAt(now, timezone);
  return `${String(w.hour).padStart(2, " ")}:${String(w.minute).padStart(2, "0")}:${String(w.second).padStart(2, "0")} (${who}) ${text}\n`;
}

/** `m/d/yyyy`, as in TIMESTAMP lines. */
export function flexlmDate(now: number, timezone: string): string {
  const w = wallTimeAt(now, timezone);
  return `${w.month}/${w.day}/${w.year}`;
}

/** lmgrd's start-up banner for `daemon` serving `features`, ending with a TIMESTAMP line. */
export function banner(now: number, timezone: string, daemon: string, features: string[]): string {
  const w = wallTimeAt(now, timezone);
  const day = new Date(Date.UTC(w.year, w.month - 1, w.day)).toUTCString();
  const clock = `${w.hour}:${String(w.minute).padStart(2, "0")}:${String(w.second).padStart(2, "0")}`;
  return flexlmLine(now, timezone, "lmgrd", `Server's System Date and Time: ${day.slice(0, 3)} ${day.slice(8, 11)} ${String(w.day).padStart(2, "0")} ${w.year} ${clock} ${timezone}`)
    + flexlmLine(now, timezone, "lmgrd", `FlexNet Licensing (v11.19.6.0 build 311000 x64_lsb) started on simhost (linux) (${flexlmDate(now, timezone)})`)
    + flexlmLine(now, timezone, "lmgrd", `Started ${daemon} (pid 4242)`)
    + flexlmLine(now, timezone, daemon, `Server started on simhost for:\t${features.join("\t")}`)
    + flexlmLine(now, timezone, daemon, `TIMESTAMP ${flexlmDate(now, timezone)}`);
}

interface Open { feature: string; user: string; host: string; count: number; start: number; until: number }

export class FlexlmSimulator {
  private readonly daemon: string;
  private readonly features: string[];
  private readonly users: string[];
  private readonly open: Open[] = [];
  private random: () => number;
  private lastTimestamp = 0;
  /** Truth for tests: license-ms per feature of every session closed so far. */
  readonly closedLicenseMs = new Map<string, number>();

  private readonly opts: SimulatorOptions;

  constructor(opts: SimulatorOptions) {
    this.opts = opts;
    this.daemon = opts.daemon ?? "MLM";
    this.features = opts.features ?? ["MATLAB", "SIMULINK", "Signal_Toolbox"];
    this.users = opts.users ?? ["ana", "Marta Rodriguez", "José Juan Galera", "li.wei", "ops"];
    this.random = mulberry32(opts.seed ?? 42);
  }

  private write(now: number, who: string, text: string) {
    appendFileSync(this.opts.file, flexlmLine(now, this.opts.timezone, who, text));
  }

  /** Start-up banner, as lmgrd writes it (truncates the file: a restart without `-l +file`). */
  start(now: number) {
    writeFileSync(this.opts.file, banner(now, this.opts.timezone, this.daemon, this.features));
    this.lastTimestamp = now;
  }

  /** Advances the simulated server to `now` (whole seconds): closes due sessions, maybe opens one. */
  step(now: number) {
    now = wholeSecond(now);
    if (now - this.lastTimestamp >= 6 * 3600_000) {
      this.write(now, this.daemon, `TIMESTAMP ${flexlmDate(now, this.opts.timezone)}`);
      this.lastTimestamp = now;
    }
    for (let i = this.open.length - 1; i >= 0; i--) {
      const s = this.open[i]!;
      if (s.until <= now) {
        this.open.splice(i, 1);
        this.closedLicenseMs.set(s.feature, (this.closedLicenseMs.get(s.feature) ?? 0) + (now - s.start) * s.count);
        this.write(now, this.daemon, `IN: "${s.feature}" ${s.user}@${s.host}  ${s.count > 1 ? `(${s.count} licenses)` : ""}`.trimEnd() + "  ");
      }
    }
    if (this.random() < (this.opts.checkoutRate ?? 0.3)) {
      const feature = this.features[Math.floor(this.random() * this.features.length)]!;
      const user = this.users[Math.floor(this.random() * this.users.length)]!;
      const host = `ws-${1 + Math.floor(this.random() * 4)}`;
      if (this.random() < 0.1) {
        this.write(now, this.daemon, `UNSUPPORTED: "${feature}" (BF04C1B183DD400E147F) ${user}@${host}  (No such feature exists. (-5,346))`);
      }
      if (this.open.length >= 6) {
        this.write(now, this.daemon, `DENIED: "${feature}" ${user}@${host}  (Licensed number of users already reached. (-4,342))`);
        return;
      }
      const count = this.random() < 0.2 ? 4 : 1;
      const until = now + (10 + Math.floor(this.random() * 110)) * 1000;
      this.open.push({ feature, user, host, count, start: now, until });
      this.write(now, this.daemon, `OUT: "${feature}" ${user}@${host}  ${count > 1 ? `(${count} licenses)` : ""}`.trimEnd() + "  ");
    }
  }

  /** A clean shutdown: every open session is checked in with (SHUTDOWN). */
  shutdown(now: number) {
    now = wholeSecond(now);
    this.write(now, "lmgrd", "SHUTDOWN request from admin at node simhost");
    for (const s of this.open.splice(0)) {
      this.closedLicenseMs.set(s.feature, (this.closedLicenseMs.get(s.feature) ?? 0) + (now - s.start) * s.count);
      this.write(now, this.daemon, `IN: "${s.feature}" ${s.user}@${s.host}  (SHUTDOWN)`);
    }
    this.write(now, "lmgrd", "EXITING DUE TO SIGNAL 15");
  }
}
