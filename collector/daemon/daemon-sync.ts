// The daemon's sync turn (site-daemon.ts): while the edge answers, open sessions are cut just before
// a sync sends; the backlog goes out within a time budget; once every record is receipted, the
// contract doc is synced and site-side enforcement acts on it. What goes wrong is sorted three ways:
// a problem of the site (site-trouble.ts), a trust flag that stops syncing until a person acts, or a
// failure a later try may fix, which backs off (edge-link.ts).
import { currentScope, type SitePolicy } from "../chain/site-policy.ts";
import { syncSiteDoc } from "../contract-doc/site-doc.ts";
import { CollectorError } from "../errors.ts";
import { LogError } from "../log/errors.ts";
import type { Site } from "../site.ts";
import { EdgeUnreachable } from "../sync/backoff.ts";
import type { EdgeClient } from "../sync/edge-client.ts";
import { syncOnce } from "../sync/syncer.ts";
import type { DaemonSource } from "./daemon-source.ts";
import type { EdgeLink } from "./edge-link.ts";
import type { DaemonOptions } from "./site-daemon.ts";
import type { SiteTrouble } from "./site-trouble.ts";

const TRUST_STOPS = new Set(["flagged", "equivocation", "edge_regressed", "revoked"]);

/** What the sync turn shares with the rest of the daemon. */
export interface DaemonSyncParts {
  site: Site;
  client: EdgeClient;
  /** The daemon's own options object (read at each turn, never copied). */
  options: DaemonOptions;
  clock: () => number;
  sources: DaemonSource[];
  policy: SitePolicy;
  link: EdgeLink;
  trouble: SiteTrouble;
  /** Counts what the cut before a sync appended. */
  appended: (n: number, wrote: boolean) => void;
  /** Site-side enforcement, once the contract doc is synced. */
  enforce: () => Promise<void>;
}

export class DaemonSync {
  readonly #p: DaemonSyncParts;

  constructor(parts: DaemonSyncParts) {
    this.#p = parts;
  }

  async turn(now: number, stop: AbortSignal | undefined): Promise<void> {
    const { site, options, clock, link, trouble } = this.#p;
    link.attempted(now);
    // DESIGN.md §4: while the edge is reachable, open sessions are cut just before a sync sends;
    // offline they are cut only at cut_s (by the tracker), so the backlog stays small.
    if (link.online() && !trouble.diskFull) {
      for (const s of this.#p.sources) {
        try {
          this.#p.appended(await s.cut(now, this.#p.policy), true);
        } catch (e) {
          await s.reset().catch(() => undefined);
          if (!(await trouble.handled(e))) s.health.failed(now, e);
        }
      }
    }
    try {
      // While the edge is away, ask it something cheap before encoding and signing a batch.
      if (link.view.online === false) await this.#probe();
      const report = await syncOnce(site, this.#p.client, {
        backoff: options.backoff, random: options.random, now: clock,
        deadline: now + (options.syncBudgetMs ?? 30_000), ...(stop ? { signal: stop } : {}),
        ...(options.wait ? { wait: options.wait } : {}),
      });
      const pending = site.log.ackedSeq() < site.log.lastSeq();
      link.succeeded(clock(), pending);
      if (report.revoked_edge_keys) options.log(`the edge revoked its key(s) ${report.revoked_edge_keys.join(", ")}: receipts they sign are refused from now on`);
      if (report.batches > 0) options.log(`synced ${report.records_sent} records; receipted through seq ${report.acked_seq}${pending ? `, ${site.log.lastSeq() - report.acked_seq} to go` : ""}`);
      if (!pending) await this.#afterSync();
    } catch (e) {
      const code = e instanceof CollectorError ? e.code : e instanceof LogError ? e.code : "internal";
      if (await trouble.handled(e)) link.failed(clock(), code, (e as Error).message, false);
      else if (TRUST_STOPS.has(code)) {
        // Stopped as the flag it raised says (`revoked`, or `refused`: an edge that does not know or
        // believe this collector), as a restart reads it from the flags.
        const flag = e instanceof CollectorError && typeof e.details.flag === "string" ? e.details.flag : code;
        link.stop(clock(), flag, (e as Error).message);
        options.log(`sync stopped until resolved: ${(e as Error).message}`);
      } else {
        // A refusal without an edge error code came from something in between (a proxy's policy
        // page, a WAF): the edge was not reached, whatever answered.
        const offline = code === "edge_unreachable" || (code === "batch_refused" && notFromEdge(e));
        link.failed(clock(), code, (e as Error).message, offline);
        options.log(`${offline ? "offline" : `sync failed (${code})`}: ${(e as Error).message}`);
      }
    }
  }

  /** Throws edge_unreachable unless the edge answers at all (any HTTP status). */
  async #probe(): Promise<void> {
    try {
      await this.#p.client.keys();
    } catch (e) {
      if (e instanceof EdgeUnreachable) throw new CollectorError("edge_unreachable", `edge unreachable: ${e.reason}`);
      throw e;
    }
  }

  /** Once every record is receipted: the contract doc (terms, scope, balance), then site-side
   *  enforcement acts on the status the doc brought. */
  async #afterSync(): Promise<void> {
    const { site, options } = this.#p;
    const doc = await syncSiteDoc(site, options.timeoutMs ?? 30_000);
    if (!doc.ok) {
      options.log(`contract doc not synced (${doc.error}): ${doc.message}`);
      return;
    }
    this.#p.policy.setScope(currentScope(site.paths, site.identity));
    await this.#p.enforce();
  }
}

/** A refusal the edge did not write: its answer carried no edge error code (syncer.ts names it `http_<status>`). */
function notFromEdge(e: unknown): boolean {
  const edgeError = e instanceof CollectorError ? e.details.edge_error : undefined;
  return typeof edgeError === "string" && edgeError.startsWith("http_");
}
