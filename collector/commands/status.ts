// `status`: what this site knows without the edge: pending records, the last receipt, trust
// flags, source health when the daemon has written it. The offline estimate of remaining units
// (DESIGN.md §8) is the replica's last known balance minus this site's usage since the acked_seq
// it reflects (contract-doc/offline-estimate.ts); `remaining_units` is that estimate.
import { join } from "node:path";
import type { Receipt } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { loadFlags } from "../state/flags.ts";
import { loadIdentity } from "../state/identity.ts";
import { readJsonFile } from "../state/json-file.ts";
import { readReceipts } from "../state/receipt-book.ts";
import { estimateRemaining, type OfflineEstimate } from "../contract-doc/offline-estimate.ts";
import { openReplica } from "../contract-doc/replica-file.ts";
import { parseCommandArgs, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const statusUsage = "status [--state DIR] [--json]";

/** Written by `run` (one entry per configured source). */
export const SOURCE_HEALTH_FILE = "sources.json";

export async function statusCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, {}, statusUsage);
  const paths = stateFrom(values, io.env);
  const identity = await loadIdentity(paths);
  const flags = await loadFlags(paths);
  const sources = (await readJsonFile<{ sources?: unknown }>(join(paths.dir, SOURCE_HEALTH_FILE)))?.sources ?? null;

  let log: { last_seq: number | null; acked_seq: number; first_retained_seq: number | null; locked: boolean };
  let receipt: Receipt | null;
  const doc = openReplica(paths, identity.collector_id).read();
  let estimate: OfflineEstimate | null = null;
  try {
    const site = await openSite(paths);
    try {
      estimate = await estimateRemaining(doc, identity.collector_id, site.log);
      receipt = (site.log.receipt() as { receipt?: Receipt } | null)?.receipt ?? null;
      log = { last_seq: site.log.lastSeq(), acked_seq: site.log.ackedSeq(), first_retained_seq: site.log.firstSeq(), locked: false };
    } finally {
      await site.close();
    }
  } catch (e) {
    // The daemon holds the log's lock: report from the receipt book instead of waiting.
    if (!(e instanceof CollectorError && e.code === "bad_state" && /locked/.test(e.message))) throw e;
    const book = await readReceipts(paths);
    receipt = book[book.length - 1]?.receipt ?? null;
    log = { last_seq: null, acked_seq: receipt?.acked_seq ?? 0, first_retained_seq: null, locked: true };
  }

  const pending = log.last_seq === null ? null : log.last_seq - log.acked_seq;
  const json = {
    ok: true, collector_id: identity.collector_id, contract_id: identity.contract_id, site: identity.site, server: identity.server,
    ...log, pending,
    last_receipt: receipt ? { ...receipt, received_at_iso: new Date(receipt.received_at).toISOString() } : null,
    flags, sources,
    remaining_units: estimate?.estimated_remaining_units ?? null,
    unit_name: typeof doc.terms.unit_name === "string" ? doc.terms.unit_name : null,
    estimate,
  };
  const lines = [
    `collector ${identity.collector_id} (site ${identity.site}) → ${identity.server}`,
    pending === null ? `log locked by a running daemon; receipted through seq ${log.acked_seq}` : `records: ${log.last_seq}, receipted: ${log.acked_seq}, pending: ${pending}`,
    estimate === null || estimate.last_known_remaining_units === null
      ? `remaining: unknown (${doc.balance === null ? "no balance pulled from the edge yet" : "the contract has no grant"})${estimate ? `; used since seq ${estimate.reflects_acked_seq}: ${estimate.used_since_units} ${json.unit_name ?? "units"}` : ""}`
      : `remaining (estimate): ${estimate.estimated_remaining_units} ${json.unit_name ?? "units"} = ${estimate.last_known_remaining_units} as of ${estimate.balance_as_of} − ${estimate.used_since_units} used since seq ${estimate.reflects_acked_seq}`,
    receipt ? `last receipt: seq ${receipt.acked_seq} at ${new Date(receipt.received_at).toISOString()}` : "last receipt: none yet",
    ...flags.map((f) => `FLAG ${f.code}${f.seq !== undefined ? ` at seq ${f.seq}` : ""}: ${f.message}`),
    ...(Array.isArray(sources) ? sources.map((s: { source?: string; up?: boolean; at?: number }) => `source ${s.source}: ${s.up ? "up" : "down"}${s.at ? ` (${new Date(s.at).toISOString()})` : ""}`) : []),
  ];
  return { exit: 0, json, text: lines.join("\n") + "\n" };
}
