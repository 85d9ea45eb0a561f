// `status`: what this site knows without the edge: pending records, the last receipt, trust
// flags, source health when the daemon has written it. The offline estimate of remaining units
// (DESIGN.md §8) comes with the contract-doc replica; until then `remaining_units` is null.
import { join } from "node:path";
import type { Receipt } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { loadFlags } from "../state/flags.ts";
import { loadIdentity } from "../state/identity.ts";
import { readJsonFile } from "../state/json-file.ts";
import { readReceipts } from "../state/receipt-book.ts";
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
  try {
    const site = await openSite(paths);
    try {
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
    flags, sources, remaining_units: null,
  };
  const lines = [
    `collector ${identity.collector_id} (site ${identity.site}) → ${identity.server}`,
    pending === null ? `log locked by a running daemon; receipted through seq ${log.acked_seq}` : `records: ${log.last_seq}, receipted: ${log.acked_seq}, pending: ${pending}`,
    receipt ? `last receipt: seq ${receipt.acked_seq} at ${new Date(receipt.received_at).toISOString()}` : "last receipt: none yet",
    ...flags.map((f) => `FLAG ${f.code}${f.seq !== undefined ? ` at seq ${f.seq}` : ""}: ${f.message}`),
    ...(Array.isArray(sources) ? sources.map((s: { source?: string; up?: boolean; at?: number }) => `source ${s.source}: ${s.up ? "up" : "down"}${s.at ? ` (${new Date(s.at).toISOString()})` : ""}`) : []),
  ];
  return { exit: 0, json, text: lines.join("\n") + "\n" };
}
