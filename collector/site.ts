// One opened site: its state dir, identity, key, log (locked) and chain writer. Every command
// that touches the log goes through here, so every source's read state is settled against the
// log (daemon/source-journal.ts) before anything can append or release.
import type { ChainRecord, RecordBody } from "../shared/protocol/index.ts";
import { recordHash } from "./chain/record-bytes.ts";
import { RecordWriter } from "./chain/record-writer.ts";
import { settleJournals, type JournalRecovery } from "./daemon/source-journal.ts";
import { CollectorError } from "./errors.ts";
import { LogError } from "./log/errors.ts";
import { SegmentLog, type RecoveryReport } from "./log/segment-log.ts";
import { loadIdentity, loadKey, type Identity, type SiteKey } from "./state/identity.ts";
import type { StatePaths } from "./state/state-dir.ts";

export interface Site {
  paths: StatePaths;
  identity: Identity;
  key: SiteKey;
  log: SegmentLog;
  recovery: RecoveryReport;
  writer: RecordWriter;
  /** Sources whose last append was unfinished when the site was last closed, and what became of it. */
  journals: Record<string, JournalRecovery>;
  /** Appends bodies to the chain (records no source's read state depends on: heartbeats, rotations). */
  append(bodies: RecordBody[]): Promise<ChainRecord[]>;
  /** Hash of our record at `seq`, or undefined when released or beyond the log. */
  hashAt(seq: number): Promise<string | undefined>;
  /** Closes and opens the log again (after it refused everything: a failed rollback), in place. */
  reopen(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenSiteOptions { clock?: () => number; segmentBytes?: number }

export async function openSite(paths: StatePaths, options: OpenSiteOptions = {}): Promise<Site> {
  const identity = await loadIdentity(paths);
  const key = await loadKey(paths);
  const openLog = async () => {
    try {
      return await SegmentLog.open(paths.log, options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes });
    } catch (e) {
      throw asCollectorError(e);
    }
  };
  const { log, recovery } = await openLog();
  try {
    const writer = await RecordWriter.open(log, identity.collector_id, options.clock);
    const site: Site = {
      paths, identity, key, log, recovery, writer, journals: {},
      append: (bodies) => site.writer.append(bodies),
      async hashAt(seq) {
        if (seq < 1 || seq < site.log.firstSeq() || seq > site.log.lastSeq()) return undefined;
        const [entry] = await site.log.read(seq, { maxCount: 1 });
        return entry ? recordHash(entry.payload) : undefined;
      },
      async reopen() {
        await site.log.close().catch(() => undefined);
        const reopened = await openLog();
        site.log = reopened.log;
        site.recovery = reopened.recovery;
        site.writer = await RecordWriter.open(reopened.log, identity.collector_id, options.clock);
        site.journals = await settleJournals(site);
      },
      close: () => site.log.close(),
    };
    site.journals = await settleJournals(site);
    return site;
  } catch (e) {
    await log.close();
    throw asCollectorError(e);
  }
}

export function asCollectorError(e: unknown): unknown {
  if (e instanceof LogError) {
    if (e.code === "log_locked") return new CollectorError("bad_state", `${e.message} (is the daemon running?)`);
    if (e.code === "log_corrupt") return new CollectorError("check_failed", `log: ${e.message}`, { log_code: e.code });
    return new CollectorError("bad_state", `log: ${e.message}`, { log_code: e.code });
  }
  return e;
}
