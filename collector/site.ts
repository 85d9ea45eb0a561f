// One opened site: its state dir, identity, key, log (locked), chain writer and coverage.
// Every command that touches the log goes through here, so coverage is reconciled with the
// log before anything can append or release.
import { sha256Hex, type ChainRecord, type RecordBody } from "../shared/protocol/index.ts";
import { Coverage } from "./chain/coverage.ts";
import { decodeRecord, RecordWriter } from "./chain/record-writer.ts";
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
  coverage: Coverage;
  /** Appends bodies to the chain and notes them in coverage. */
  append(bodies: RecordBody[]): Promise<ChainRecord[]>;
  /** Hash of our record at `seq`, or undefined when released or beyond the log. */
  hashAt(seq: number): Promise<string | undefined>;
  close(): Promise<void>;
}

export interface OpenSiteOptions { clock?: () => number; segmentBytes?: number }

export async function openSite(paths: StatePaths, options: OpenSiteOptions = {}): Promise<Site> {
  const identity = await loadIdentity(paths);
  const key = await loadKey(paths);
  let opened: Awaited<ReturnType<typeof SegmentLog.open>>;
  try {
    opened = await SegmentLog.open(paths.log, options.segmentBytes === undefined ? {} : { segmentBytes: options.segmentBytes });
  } catch (e) {
    throw asCollectorError(e);
  }
  const { log, recovery } = opened;
  try {
    const writer = await RecordWriter.open(log, identity.collector_id, options.clock);
    const coverage = await Coverage.load(paths.coverage);
    await reconcile(coverage, log);
    const site: Site = {
      paths, identity, key, log, recovery, writer, coverage,
      async append(bodies) {
        const records = await writer.append(bodies);
        for (const r of records) coverage.fold(r);
        return records;
      },
      async hashAt(seq) {
        if (seq < 1 || seq < log.firstSeq() || seq > log.lastSeq()) return undefined;
        const [entry] = await log.read(seq, { maxCount: 1 });
        return entry ? sha256Hex(entry.payload) : undefined;
      },
      async close() {
        try {
          await coverage.save(paths.coverage);
        } finally {
          await log.close();
        }
      },
    };
    return site;
  } catch (e) {
    await log.close();
    throw asCollectorError(e);
  }
}

/** Folds records the coverage file has not seen (appended just before a crash). */
async function reconcile(coverage: Coverage, log: SegmentLog): Promise<void> {
  let from = Math.max(coverage.throughSeq + 1, log.firstSeq());
  while (from <= log.lastSeq()) {
    const entries = await log.read(from, { maxCount: 1000 });
    for (const e of entries) coverage.fold(decodeRecord(e.payload, e.seq));
    from = entries[entries.length - 1]!.seq + 1;
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
