// `status`: what this site knows without the edge, from bounded data: the log's ends and receipt
// cursor, trust flags, and — from the daemon's `daemon.json` — every source's health (up, last
// error, backlog progress, counters, licenses in use), sync state, a full disk, the log's size
// against its disk's room (daemon/log-storage.ts: a warning before it fills). While the daemon
// holds the log, the log's figures come from that file and the cursor, never from the segments.
// The offline estimate of remaining units (DESIGN.md §8) is the replica's last known balance minus
// this site's usage since the acked_seq it reflects (contract-doc/offline-estimate.ts); it rates
// every unreceipted record, so past 200,000 of them it waits for `--estimate`. After an `export`,
// its bundles whose records are not all receipted yet: the replies still to bring back.
import type { Receipt } from "../../shared/protocol/index.ts";
import { readDaemonStatus, type DaemonStatus } from "../daemon/daemon-status.ts";
import { logStorage, type LogStorage } from "../daemon/log-storage.ts";
import type { EnforcementView } from "../enforce/site-enforcer.ts";
import type { SourceHealthView } from "../daemon/source-health.ts";
import { CollectorError } from "../errors.ts";
import { peekCursor } from "../log/cursor.ts";
import { nodeLogFs } from "../log/log-fs.ts";
import { openSite } from "../site.ts";
import { loadFlags } from "../state/flags.ts";
import { edgeKeysView } from "../state/edge-keys.ts";
import { exportedBundles, loadExportRecord } from "../sync/bundle-export.ts";
import { loadIdentity } from "../state/identity.ts";
import { estimateRemaining, type OfflineEstimate } from "../contract-doc/offline-estimate.ts";
import { openReplica } from "../contract-doc/replica-file.ts";
import { parseCommandArgs, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const statusUsage = "status [--estimate] [--state DIR] [--json]";

/** Above this many unreceipted records the offline estimate (which rates each of them) is only
 *  computed with --estimate: `status` reads bounded data by default. */
const ESTIMATE_MAX_PENDING = 200_000;

interface LogView { last_seq: number | null; acked_seq: number; first_retained_seq: number | null; locked: boolean }

export async function statusCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { estimate: { type: "boolean" } }, statusUsage);
  const paths = stateFrom(values, io.env);
  const identity = await loadIdentity(paths);
  const flags = await loadFlags(paths);
  const daemon = await readDaemonStatus(paths.dir);

  let log: LogView;
  let receipt: Receipt | null;
  const doc = openReplica(paths, identity.collector_id).read();
  let estimate: OfflineEstimate | null = null;
  let estimateSkipped: string | null = null;
  let storage: LogStorage | null = null;
  try {
    const site = await openSite(paths);
    try {
      const unreceipted = site.log.lastSeq() - Math.max(site.log.ackedSeq(), site.log.firstSeq() - 1);
      if (values.estimate || unreceipted <= ESTIMATE_MAX_PENDING) estimate = await estimateRemaining(doc, identity.collector_id, site.log);
      else estimateSkipped = `${unreceipted} records are not receipted yet: rating them all takes a while; run \`status --estimate\``;
      receipt = (site.log.receipt() as { receipt?: Receipt } | null)?.receipt ?? null;
      log = { last_seq: site.log.lastSeq(), acked_seq: site.log.ackedSeq(), first_retained_seq: site.log.firstSeq(), locked: false };
      storage = await logStorage(paths.log, site.log.bytes(), site.log.lastSeq() - site.log.ackedSeq());
    } finally {
      await site.close();
    }
  } catch (e) {
    // The daemon holds the log's lock: its own figures, and the cursor, read without the lock.
    if (!(e instanceof CollectorError && e.code === "bad_state" && /locked/.test(e.message))) throw e;
    const cursor = await peekCursor(nodeLogFs, paths.log);
    receipt = (cursor?.receipt as { receipt?: Receipt } | null)?.receipt ?? null;
    const live = daemon?.running ? daemon.log : null;
    const acked = cursor?.ackedSeq ?? 0;
    // daemon.json is rewritten at most once a second, the cursor at every receipt: the log holds
    // at least every receipted record, so a receipt newer than daemon.json never shows pending < 0.
    log = { last_seq: live ? Math.max(live.last_seq, acked) : null, acked_seq: acked, first_retained_seq: live?.first_seq ?? null, locked: true };
    storage = live ? daemon?.storage ?? null : null;
  }
  // What the edge last published, also while the daemon holds the log (no estimate then: it rates
  // the log's records above the figure's acked_seq).
  const lastKnown = doc.balance ? { remaining_units: doc.balance.remaining_units ?? null, as_of: doc.balance.as_of ?? null, reflects_acked_seq: doc.balance.collectors[identity.collector_id]?.acked_seq ?? 0 } : null;

  const pending = log.last_seq === null ? null : log.last_seq - log.acked_seq;
  const exported = await loadExportRecord(paths);
  const bundles = exported ? exportedBundles(exported) : [];
  const lastExport = exported ? {
    exported_at: new Date(exported.exported_at).toISOString(),
    bundles: bundles.length,
    last_seq: exported.batches.at(-1)?.last_seq ?? null,
    // A bundle is answered once the cursor passed its last record (by its reply or a later one).
    awaiting_replies: bundles.filter((b) => b.last_seq !== null && b.last_seq > log.acked_seq).map((b) => b.file),
  } : null;
  const json = {
    ok: true, collector_id: identity.collector_id, contract_id: identity.contract_id, site: identity.site, server: identity.server,
    ...log, pending,
    last_receipt: receipt ? { ...receipt, received_at_iso: new Date(receipt.received_at).toISOString() } : null,
    flags,
    daemon: daemon ? { running: daemon.running && log.locked, pid: daemon.pid, as_of: new Date(daemon.at).toISOString(), sync: daemon.sync, disk_full: daemon.disk_full, pseudonymise: daemon.pseudonymise } : null,
    sources: daemon?.sources ?? null,
    enforcement: daemon?.enforcement ?? null,
    out_of_scope: daemon ? daemon.sources.reduce((n, s) => n + s.totals.out_of_scope, 0) : null,
    remaining_units: estimate?.estimated_remaining_units ?? null,
    last_known: lastKnown,
    last_export: lastExport,
    edge_keys: await edgeKeysView(paths),
    unit_name: typeof doc.terms.unit_name === "string" ? doc.terms.unit_name : null,
    estimate,
    storage,
    ...(estimateSkipped ? { estimate_skipped: estimateSkipped } : {}),
  };
  const lines = [
    `collector ${identity.collector_id} (site ${identity.site}) → ${identity.server}`,
    pending === null ? `log locked by a running daemon; receipted through seq ${log.acked_seq}` : `records: ${log.last_seq}, receipted: ${log.acked_seq}, pending: ${pending}`,
    estimateSkipped ? `remaining: not estimated (${estimateSkipped})` : estimate === null && lastKnown?.remaining_units != null
      ? `remaining (last known): ${lastKnown.remaining_units} ${json.unit_name ?? "units"} as of ${lastKnown.as_of}, through seq ${lastKnown.reflects_acked_seq}${log.locked ? " (the running daemon holds the log: use since then is not estimated)" : ""}`
      : estimate === null || estimate.last_known_remaining_units === null
      ? `remaining: unknown (${doc.balance === null ? "no balance pulled from the edge yet" : "the contract has no grant"})${estimate ? `; used since seq ${estimate.reflects_acked_seq}: ${estimate.used_since_units} ${json.unit_name ?? "units"}` : ""}`
      : `remaining (estimate): ${estimate.estimated_remaining_units} ${json.unit_name ?? "units"} = ${estimate.last_known_remaining_units} as of ${estimate.balance_as_of} − ${estimate.used_since_units} used since seq ${estimate.reflects_acked_seq}`,
    ...(storage ? [`log: ${(storage.log_bytes / 1e6).toFixed(1)} MB kept${storage.free_bytes !== null ? `, ${(storage.free_bytes / 1e6).toFixed(1)} MB free on its disk` : ""}`] : []),
    ...(storage?.warning ? [`WARNING: ${storage.warning}`] : []),
    receipt ? `last receipt: seq ${receipt.acked_seq} at ${new Date(receipt.received_at).toISOString()}` : "last receipt: none yet",
    `edge keys: ${json.edge_keys.trusted.join(", ") || "none"} trusted${json.edge_keys.revoked.length > 0 ? `, ${json.edge_keys.revoked.length} no longer` : ""}; the edge's list last read ${json.edge_keys.checked_at ?? "never"}`,
    ...(lastExport ? [exportLine(lastExport)] : []),
    ...flags.map((f) => `FLAG ${f.code}${f.seq !== undefined ? ` at seq ${f.seq}` : ""}: ${f.message}`),
    ...(daemon ? daemonLines(daemon, log.locked) : ["daemon: never ran in this state dir"]),
  ];
  return { exit: 0, json, text: lines.join("\n") + "\n" };
}

function exportLine(e: { exported_at: string; bundles: number; last_seq: number | null; awaiting_replies: string[] }): string {
  const what = `last export: ${e.bundles} bundle${e.bundles === 1 ? "" : "s"}${e.last_seq !== null ? ` through seq ${e.last_seq}` : " (empty)"} at ${e.exported_at}`;
  return e.awaiting_replies.length === 0 ? `${what}, all receipted` : `${what}; awaiting the replies to ${e.awaiting_replies.join(", ")}`;
}

function daemonLines(d: DaemonStatus, locked: boolean): string[] {
  const asOf = new Date(d.at).toISOString();
  return [
    `daemon: ${d.running && locked ? `running (pid ${d.pid})` : "not running"}, as of ${asOf}`,
    syncLine(d.sync),
    ...(d.disk_full ? [`DISK FULL since ${new Date(d.disk_full.since).toISOString()}: appends paused, nothing lost (${d.disk_full.message})`] : []),
    ...d.sources.map(sourceLine),
    ...(d.enforcement ? [enforcementLine(d.enforcement)] : []),
  ];
}

/** The edge link in one line; a sync that failed since the last one that went through is named, even with the edge reachable. */
function syncLine(sync: DaemonStatus["sync"]): string {
  if (sync.stopped) return `sync: STOPPED (${sync.stopped.code}): ${sync.stopped.message}`;
  if (sync.online === null) return "sync: not tried yet";
  const error = sync.last_error;
  if (!sync.online) {
    const since = sync.last_success ? `the sync of ${new Date(sync.last_success).toISOString()}` : "start";
    return `sync: edge unreachable since ${since}${error ? ` (${error.message})` : ""}`;
  }
  if (error && error.at > (sync.last_success ?? -Infinity)) return `sync: edge reachable, but the last sync failed (${error.code}): ${error.message}`;
  return "sync: edge reachable";
}

function enforcementLine(e: EnforcementView): string {
  const now = e.excluded.length > 0 ? `excluding ${e.excluded.join(", ")}` : "no block";
  const change = e.last_change ? `; last change ${new Date(e.last_change.at).toISOString()}: ${e.last_change.action} (${e.last_change.result})` : "";
  const skipped = e.skipped.length > 0 ? `; not writable as feature names: ${e.skipped.join(", ")}` : "";
  const error = e.last_error ? `; ERROR ${new Date(e.last_error.at).toISOString()}: ${e.last_error.message}${e.retry_at ? ` (retry at ${new Date(e.retry_at).toISOString()})` : ""}` : "";
  return `enforcement (${e.kind}, ${e.options_file}): contract ${e.contract_status ?? "status unknown"}, ${now}${e.reread_pending ? ", REREAD PENDING" : ""}${change}${skipped}${error}`;
}

function sourceLine(s: SourceHealthView): string {
  const state = s.up === null ? "not read yet" : s.up ? "up" : "DOWN";
  const progress = s.progress && !s.progress.caught_up
    ? `, backlog ${s.progress.percent}% of ${s.progress.size} bytes${s.progress.lines_per_s ? ` at ${s.progress.lines_per_s} lines/s` : ""}${s.progress.eta_s !== null ? `, ETA ${s.progress.eta_s} s` : ""}`
    : "";
  const error = s.last_error ? `; last error ${new Date(s.last_error.at).toISOString()}: ${s.last_error.message}${s.retry_at ? ` (retry at ${new Date(s.retry_at).toISOString()})` : ""}` : "";
  const held = Object.entries(s.licenses_in_use).map(([f, n]) => `${f}=${n}`).join(" ");
  return `source ${s.source} (${s.kind}): ${state}; ${s.totals.lines} lines, ${s.totals.unknown_lines} unknown, ${s.totals.records} records, ${s.totals.out_of_scope} out of scope${progress}${held ? `; in use: ${held}` : ""}${error}`;
}
