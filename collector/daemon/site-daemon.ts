// The daemon (`run`): in rounds, reads every due source in bounded steps (a large backlog is read
// a few MiB at a time, its read position committed with the records it produced), writes a
// heartbeat every heartbeat_s, syncs when due (daemon-sync.ts), and publishes its status
// (daemon.json, /metrics).
//
// It stays up: an error in one source is that source's health and is retried with backoff while
// the others go on; a full disk pauses appends (what was not appended is read again later) and
// sync goes on, freeing receipted segments; an unreachable edge backs sync off and open sessions
// are then cut only at cut_s (DESIGN.md §4), so months offline do not multiply records; an edge
// that revokes or refuses the collector stops syncing with a flag instead of being hammered.
// Only a bad config or state stops it (before the first round). A stop signal (SIGTERM) ends the
// step in progress — its records and read position together — and the round.
import type { Server } from "node:http";
import { SitePolicy } from "../chain/site-policy.ts";
import { openReplica } from "../contract-doc/replica-file.ts";
import { SiteEnforcer } from "../enforce/site-enforcer.ts";
import { CollectorError } from "../errors.ts";
import type { Site } from "../site.ts";
import { loadFlags } from "../state/flags.ts";
import { hasPrivacyKey, privacyKeyPath } from "../state/pseudonyms.ts";
import type { BackoffPolicy } from "../sync/backoff.ts";
import type { EdgeClient } from "../sync/edge-client.ts";
import { DaemonSource } from "./daemon-source.ts";
import { writeDaemonStatus, type DaemonStatus } from "./daemon-status.ts";
import { DaemonSync } from "./daemon-sync.ts";
import { EdgeLink } from "./edge-link.ts";
import { logStorage, type LogStorage } from "./log-storage.ts";
import { serveMetrics } from "./metrics-server.ts";
import { SiteTrouble } from "./site-trouble.ts";
import type { RunConfig } from "./run-config.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";

export interface DaemonOptions {
  backoff: BackoffPolicy;
  random: () => number;
  clock?: () => number;
  log: (line: string) => void;
  /** Longest a source reads in one round before the others, the heartbeat and sync get a turn. */
  sourceBudgetMs?: number;
  /** Longest one sync round sends batches (a long catch-up continues in the next round). */
  syncBudgetMs?: number;
  /** Per edge request. */
  timeoutMs?: number;
  /** How a failed edge request waits before its retry (tests pass a clock-driven one). */
  wait?: (ms: number) => Promise<void>;
}

export class SiteDaemon {
  readonly #site: Site;
  readonly #config: RunConfig;
  #options: DaemonOptions;
  readonly #clock: () => number;
  readonly #policy: SitePolicy;
  readonly #sources: DaemonSource[];
  readonly #link: EdgeLink;
  readonly #startedAt: number;
  #nextHeartbeat = 0;
  readonly #trouble: SiteTrouble;
  /** The sync turn (daemon-sync.ts). */
  readonly #sync: DaemonSync;
  #status: DaemonStatus | null = null;
  #metrics: Server | undefined;
  #enforcer: SiteEnforcer | undefined;
  /** Real time of the last daemon.json write: at most one a second, whatever the round rate. */
  #writtenAt = 0;
  /** The last storage figures (log-storage.ts) and when they were taken (real time). */
  #storageView: LogStorage | null = null;
  #storageAt = 0;
  /** Records this process appended. */
  appended = 0;

  private constructor(site: Site, config: RunConfig, client: EdgeClient, options: DaemonOptions, policy: SitePolicy, sources: DaemonSource[]) {
    this.#site = site;
    this.#config = config;
    this.#options = { ...options };
    this.#clock = options.clock ?? Date.now;
    this.#policy = policy;
    this.#sources = sources;
    this.#link = new EdgeLink(config.sync_s);
    this.#trouble = new SiteTrouble(site, sources, this.#clock, (line) => this.#options.log(line));
    this.#sync = new DaemonSync({
      site, client, options: this.#options, clock: this.#clock, sources, policy, link: this.#link, trouble: this.#trouble,
      appended: (n, wrote) => this.#appended(n, wrote), enforce: () => this.#enforce(),
    });
    this.#startedAt = this.#clock();
  }

  /** Opens every source's journal, the site's policy and the metrics listener. Throws only for
   *  what a person must fix (bad state, metrics address unusable). */
  static async start(site: Site, config: RunConfig, client: EdgeClient, options: DaemonOptions): Promise<SiteDaemon> {
    const clock = options.clock ?? Date.now;
    const policy = await SitePolicy.load(site.paths, site.identity, config.privacy);
    const said = config.privacy.pseudonymise;
    if (said === undefined && policy.pseudonyms) options.log(`privacy: user and host names leave this site as pseudonyms, as they did before (${privacyKeyPath(site.paths)}); privacy.pseudonymise: false in the config sends them in clear`);
    if (said === false && (await hasPrivacyKey(site.paths))) options.log(`WARNING: privacy.pseudonymise is false: user and host names leave this site in clear, where it sent pseudonyms before (${privacyKeyPath(site.paths)})`);
    const sources: DaemonSource[] = [];
    const context = { configured: new Set(config.sources.map((c) => c.name)), log: (line: string) => options.log(line) };
    for (const c of config.sources) sources.push(await DaemonSource.open(site, c, config.cut_s, clock, context));
    const daemon = new SiteDaemon(site, config, client, options, policy, sources);
    if (config.enforce) daemon.#enforcer = await SiteEnforcer.open(config.enforce, site.paths.dir, (bodies) => daemon.#appendEnforcement(bodies));
    const [flag] = await loadFlags(site.paths);
    if (flag) daemon.#link.stop(clock(), flag.code, `${flag.message} (resolve it, then \`sync --resolved\`)`);
    if (config.metrics_listen) {
      const { host, port } = config.metrics_listen;
      try {
        daemon.#metrics = await serveMetrics(host, port, () => daemon.#status);
      } catch (e) {
        await daemon.close();
        throw new CollectorError("bad_config", `metrics_listen ${host}:${port}: ${(e as Error).message}`);
      }
    }
    await daemon.#publish();
    return daemon;
  }

  status(): DaemonStatus | null {
    return this.#status;
  }

  /** One round. Returns when the next thing is due (ms on the daemon's clock). */
  async round(stop?: AbortSignal): Promise<number> {
    const now = this.#clock();
    if (await this.#appendsAllowed()) {
      for (const s of this.#sources) {
        if (stop?.aborted) break;
        if (s.nextDue <= now) await this.#read(s, stop);
      }
      // Also while the disk is full: a heartbeat is the smallest append, the probe for room.
      if (this.#nextHeartbeat <= now) await this.#heartbeat(now);
    }
    if (this.#link.due(now) && !stop?.aborted) await this.#sync.turn(now, stop);
    if (this.#enforcer?.due(this.#clock()) && !stop?.aborted) await this.#enforce();
    await this.#publish();
    const dues = [this.#nextHeartbeat, ...this.#sources.map((s) => s.nextDue)];
    if (this.#enforcer?.view.reread_pending && this.#enforcer.view.retry_at !== null) dues.push(this.#enforcer.view.retry_at);
    if (this.#link.view.stopped === null) dues.push(this.#link.view.next_at);
    return Math.min(...dues);
  }

  /** `run --once`: every source read to its end, a heartbeat, a sync — and, if the edge answered,
   *  a cut at now and a second sync, so the edge sees usage up to now without an offline site
   *  run from cron cutting at every run. */
  async once(): Promise<void> {
    for (const s of this.#sources) s.nextDue = 0;
    const budget = this.#options.sourceBudgetMs;
    this.#options.sourceBudgetMs = Number.POSITIVE_INFINITY;
    try {
      await this.round();
      if (this.#link.online() && this.#link.view.stopped === null) {
        this.#link.view.next_at = 0;
        await this.round();
      }
    } finally {
      this.#options.sourceBudgetMs = budget;
    }
  }

  /** Rounds until `stop` aborts (real time). */
  async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const next = await this.round(stop);
      const wait = Math.max(50, Math.min(next - this.#clock(), 60_000));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        stop.addEventListener("abort", () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  async close(): Promise<void> {
    for (const s of this.#sources) await s.close().catch(() => undefined);
    await new Promise<void>((resolve) => (this.#metrics ? this.#metrics.close(() => resolve()) : resolve()));
    this.#metrics = undefined;
    await this.#publish(false).catch(() => undefined);
  }

  /** Reads one source until it is caught up, its budget is spent, or the daemon stops. */
  async #read(s: DaemonSource, stop: AbortSignal | undefined): Promise<void> {
    const deadline = this.#clock() + (this.#options.sourceBudgetMs ?? 2000);
    try {
      for (;;) {
        const result = await s.step(this.#clock(), this.#policy);
        this.#appended(result.appended, result.wrote);
        if (result.caughtUp) {
          s.nextDue = this.#clock() + s.config.interval_s * 1000;
          break;
        }
        s.nextDue = 0; // more to read: next round, after the others had their turn
        if (this.#clock() >= deadline || stop?.aborted) break;
      }
      // The last step was written behind: durable before anything else appends.
      const last = await s.flush();
      this.#appended(last.appended, last.wrote);
    } catch (e) {
      await s.reset().catch(() => undefined);
      if (await this.#trouble.handled(e)) {
        s.nextDue = this.#clock() + s.config.interval_s * 1000;
        return;
      }
      s.nextDue = s.health.failed(this.#clock(), e);
      this.#options.log(`source ${s.config.name}: ${(e as Error).message}; retrying in ${Math.round((s.nextDue - this.#clock()) / 1000)} s`);
    }
  }

  async #heartbeat(now: number): Promise<void> {
    this.#nextHeartbeat = now + this.#config.heartbeat_s * 1000;
    const sources = this.#sources.map((s) => ({ source: s.config.name, up: s.health.view.up === true, at: wholeSecond(s.health.view.at ?? now) }));
    try {
      await this.#site.append([{ kind: "heartbeat", data: { sources } }]);
      this.#appended(1, true);
    } catch (e) {
      if (!(await this.#trouble.handled(e))) this.#options.log(`heartbeat not written: ${(e as Error).message}`);
    }
  }

  /** Site-side enforcement against the balance in the local replica (the last the edge published). */
  async #enforce(): Promise<void> {
    const replica = () => openReplica(this.#site.paths, this.#site.identity.collector_id).read().balance;
    await this.#enforcer?.stepLogged(replica, this.#clock(), this.#options.log);
  }

  async #appendEnforcement(bodies: Parameters<Site["append"]>[0]): Promise<void> {
    try {
      await this.#site.append(bodies);
      this.#appended(bodies.length, true);
    } catch (e) {
      await this.#trouble.handled(e);
      throw e;
    }
  }

  /** Clears what a failed append left written down; false while the disk is still full. */
  async #appendsAllowed(): Promise<boolean> {
    for (const s of this.#sources) if (!(await s.settled())) return false;
    return true;
  }

  #appended(n: number, wrote: boolean): void {
    this.appended += n;
    if (wrote) this.#trouble.wrote();
  }

  /** The log's storage, asked of the file system at most once a minute (a statfs call). */
  async #storage(): Promise<LogStorage> {
    const { log } = this.#site;
    const now = Date.now();
    if (this.#storageView === null || now - this.#storageAt >= 60_000) {
      const view = await logStorage(this.#site.paths.log, log.bytes(), log.lastSeq() - log.ackedSeq());
      // Logged when it appears; status and /metrics show it for as long as it holds.
      if (view.warning && !this.#storageView?.warning) this.#options.log(`WARNING: ${view.warning}`);
      this.#storageView = view;
      this.#storageAt = now;
    }
    return this.#storageView;
  }

  async #publish(running = true): Promise<void> {
    const { log } = this.#site;
    const receipt = (log.receipt() as { receipt?: { acked_seq: number; received_at: number } } | null)?.receipt;
    this.#status = {
      format: "tally-daemon-status/v1", pid: process.pid, started_at: this.#startedAt, at: this.#clock(), running,
      sources: this.#sources.map((s) => s.health.view),
      log: { first_seq: log.firstSeq(), last_seq: log.lastSeq(), acked_seq: log.ackedSeq(), pending: log.lastSeq() - log.ackedSeq() },
      appended: this.appended,
      last_receipt: receipt ? { acked_seq: receipt.acked_seq, received_at: receipt.received_at } : null,
      sync: this.#link.view, disk_full: this.#trouble.diskFull, storage: await this.#storage(), scope: this.#policy.scope(), pseudonymise: this.#policy.pseudonyms !== null,
      enforcement: this.#enforcer?.view ?? null,
    };
    if (running && Date.now() - this.#writtenAt < 1000) return;
    try {
      await writeDaemonStatus(this.#site.paths.dir, this.#status);
      this.#writtenAt = Date.now();
    } catch {
      // A full disk: the status file waits; /metrics still has it.
    }
  }
}
