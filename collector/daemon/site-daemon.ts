// The daemon (`run`): follows every configured source, appends what they complete to the chain
// (skipping what coverage says it already holds, so a restart never counts twice), writes a
// heartbeat every heartbeat_s even without usage, cuts open sessions and syncs every sync_s.
// Collecting never stops: an unreachable edge or a trust flag only pauses syncing.
import { join } from "node:path";
import type { RecordBody } from "../../shared/protocol/index.ts";
import { localTimeZone } from "../../shared/time/zoned.ts";
import { SOURCE_HEALTH_FILE } from "../commands/status.ts";
import { CollectorError } from "../errors.ts";
import { FollowedSource } from "../sessions/followed-source.ts";
import { SessionTracker } from "../sessions/session-tracker.ts";
import type { LineSource, SnapshotSource, SourceOptions } from "../sources/events.ts";
import { SnapshotPoller } from "../sources/poller.ts";
import { sourceKinds } from "../sources/registry.ts";
import type { Site } from "../site.ts";
import { writeJsonFile } from "../state/json-file.ts";
import type { BackoffPolicy } from "../sync/backoff.ts";
import type { EdgeClient } from "../sync/edge-client.ts";
import { syncOnce } from "../sync/syncer.ts";
import { syncSiteDoc } from "../contract-doc/site-doc.ts";
import type { RunConfig, SourceConfig } from "./run-config.ts";

interface RunningSource {
  config: SourceConfig;
  nextDue: number;
  up: boolean;
  at: number;
  reason?: string;
  /** Read what is new and cut open sessions at `now` (a bounded part of it: see `more`). */
  step(now: number): Promise<RecordBody[]>;
  /** The last step left work for another (a backlog, or records still queued). */
  more(): boolean;
  /** Cut open sessions at `now` without reading (before a sync). */
  cut(now: number): Promise<RecordBody[]>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

export interface DaemonOptions {
  backoff: BackoffPolicy;
  random: () => number;
  clock?: () => number;
  log: (line: string) => void;
}

export class SiteDaemon {
  readonly #site: Site;
  readonly #config: RunConfig;
  readonly #client: EdgeClient;
  readonly #options: DaemonOptions;
  readonly #clock: () => number;
  #sources: RunningSource[] = [];
  #nextHeartbeat = 0;
  #nextSync = 0;
  #syncPaused: string | null = null;
  appended = 0;

  constructor(site: Site, config: RunConfig, client: EdgeClient, options: DaemonOptions) {
    this.#site = site;
    this.#config = config;
    this.#client = client;
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  async start(): Promise<void> {
    for (const config of this.#config.sources) this.#sources.push(await this.#open(config));
  }

  /** One round: due sources, heartbeat when due, sync when due. Returns when the next is due. */
  async tick(force = false): Promise<number> {
    const now = this.#clock();
    for (const s of this.#sources) {
      if (!force && s.nextDue > now) continue;
      s.nextDue = now + s.config.interval_s * 1000;
      do await this.#append(s, await s.step(now));
      while (s.more());
    }
    if (force || this.#nextHeartbeat <= now) {
      this.#nextHeartbeat = now + this.#config.heartbeat_s * 1000;
      await this.#heartbeat(now);
    }
    if (force || this.#nextSync <= now) {
      this.#nextSync = now + this.#config.sync_s * 1000;
      await this.#sync(now);
    }
    return Math.min(this.#nextHeartbeat, this.#nextSync, ...this.#sources.map((s) => s.nextDue));
  }

  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const next = await this.tick();
      const wait = Math.max(50, next - this.#clock());
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        stop.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sources) await s.close();
  }

  async #append(source: RunningSource, bodies: RecordBody[]): Promise<void> {
    const admitted: RecordBody[] = [];
    for (const b of bodies) {
      const a = this.#site.coverage.admit(b);
      if (a) admitted.push(a);
    }
    if (admitted.length > 0) {
      await this.#site.append(admitted);
      this.appended += admitted.length;
    }
    // Only after the records are durable: a crash before this re-reads them, and coverage drops them.
    await source.commit();
    await this.#site.coverage.save(this.#site.paths.coverage);
  }

  async #heartbeat(now: number): Promise<void> {
    const sources = this.#sources.map((s) => ({ source: s.config.name, up: s.up, at: Math.floor((s.at || now) / 1000) * 1000 }));
    await this.#site.append([{ kind: "heartbeat", data: { sources } }]);
    this.appended++;
    await writeJsonFile(join(this.#site.paths.dir, SOURCE_HEALTH_FILE), {
      at: now, sources: this.#sources.map((s) => ({ source: s.config.name, kind: s.config.kind, up: s.up, at: s.at, ...(s.reason ? { reason: s.reason } : {}) })),
    });
  }

  async #sync(now: number): Promise<void> {
    if (this.#syncPaused) return;
    // DESIGN.md §4: open sessions are cut at every sync, so the edge sees usage up to now.
    for (const s of this.#sources) await this.#append(s, await s.cut(now));
    try {
      const r = await syncOnce(this.#site, this.#client, { backoff: this.#options.backoff, random: this.#options.random });
      if (r.batches > 0) this.#options.log(`synced ${r.records_sent} records; receipted through seq ${r.acked_seq}`);
      const doc = await syncSiteDoc(this.#site, 30_000);
      if (!doc.ok) this.#options.log(`contract doc not synced (${doc.error}): ${doc.message}`);
    } catch (e) {
      if (!(e instanceof CollectorError)) throw e;
      if (e.code === "edge_unreachable") this.#options.log(`offline: ${e.message}`);
      else if (e.code === "flagged" || e.code === "equivocation" || e.code === "edge_regressed") {
        this.#syncPaused = e.message;
        this.#options.log(`sync paused until resolved: ${e.message}`);
      } else this.#options.log(`sync failed (${e.code}): ${e.message}`);
    }
  }

  async #open(config: SourceConfig): Promise<RunningSource> {
    const factory = sourceKinds[config.kind]!;
    const opts: SourceOptions = { name: config.name, timezone: config.timezone ?? localTimeZone(), ...(config.package_features ? { package_features: config.package_features } : {}) };
    const asBodies = (r: unknown[]) => r as RecordBody[];
    if (factory.shape === "lines") {
      const followed = await FollowedSource.open({ stateDir: this.#site.paths.dir, name: config.name, file: config.file!, parser: factory.create(opts) as LineSource, cut_s: this.#config.cut_s });
      const source: RunningSource = {
        config, nextDue: 0, up: false, at: 0,
        step: async (now) => {
          try {
            const out = asBodies(await followed.step(now));
            Object.assign(source, { up: true, at: now });
            delete source.reason;
            return out;
          } catch (e) {
            Object.assign(source, { up: false, at: now, reason: (e as Error).message });
            return [];
          }
        },
        more: () => followed.more,
        cut: async (now) => asBodies(followed.tracker.flush(now)),
        commit: () => followed.commit(),
        close: () => followed.close(),
      };
      return source;
    }
    const tracker = new SessionTracker({ source: config.name, cut_s: this.#config.cut_s });
    const poller = new SnapshotPoller({
      source: factory.create(opts) as SnapshotSource, interval_s: config.interval_s,
      ...(config.file ? { file: config.file } : { command: { path: config.command![0]!, args: config.command!.slice(1) } }),
      ...(config.encoding ? { encoding: config.encoding } : {}),
    }, (events) => { for (const e of events) tracker.feed(e); }, this.#clock);
    const source: RunningSource = {
      config, nextDue: 0, up: false, at: 0,
      // Records come out a bounded batch at a time (a borrowed license started months ago is months of intervals).
      step: async (now) => {
        if (!tracker.queued) {
          await poller.pollOnce();
          const h = poller.health();
          Object.assign(source, { up: h.up === true, at: h.at ?? now, reason: h.reason });
          tracker.feedCut(now);
        }
        return asBodies(tracker.take(50_000));
      },
      more: () => tracker.queued,
      cut: async (now) => asBodies(tracker.flush(now)),
      commit: async () => {},
      close: () => poller.stop(),
    };
    return source;
  }
}
