// Problems of the site, not of one source (site-daemon.ts): a full disk, on which appends pause
// (what was not appended is read again later) until a write succeeds, and a log that refused
// further writes after a failed rollback, which is reopened with every source's pending step reset.
import { LogError } from "../log/errors.ts";
import type { Site } from "../site.ts";
import type { DaemonSource } from "./daemon-source.ts";

export interface DiskFull { since: number; message: string }

export class SiteTrouble {
  readonly #site: Site;
  readonly #sources: DaemonSource[];
  readonly #clock: () => number;
  readonly #log: (line: string) => void;
  #diskFull: DiskFull | null = null;

  constructor(site: Site, sources: DaemonSource[], clock: () => number, log: (line: string) => void) {
    this.#site = site;
    this.#sources = sources;
    this.#clock = clock;
    this.#log = log;
  }

  /** Since when appends are paused for a full disk (null: they are not). */
  get diskFull(): DiskFull | null {
    return this.#diskFull;
  }

  /** True when `e` was a problem of the site (and is handled). */
  async handled(e: unknown): Promise<boolean> {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT") {
      if (!this.#diskFull) {
        this.#diskFull = { since: this.#clock(), message: (e as Error).message };
        this.#log(`disk full: appends paused, sources will be read again once there is room (${(e as Error).message})`);
      }
      return true;
    }
    if (e instanceof LogError && e.code === "log_closed") {
      this.#log(`log refused further writes (${e.message}): reopening it`);
      await this.#site.reopen();
      for (const s of this.#sources) await s.reset();
      return true;
    }
    return false;
  }

  /** A write succeeded: a full disk has room again. */
  wrote(): void {
    if (!this.#diskFull) return;
    this.#log(`disk has room again: appends resumed (paused since ${new Date(this.#diskFull.since).toISOString()})`);
    this.#diskFull = null;
  }
}
