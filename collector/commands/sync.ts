// `sync`: one sync pass. Exit 0 only when every record is receipted; 1 when the edge refused a
// batch, a receipt was refused or a trust flag is set; 3 when the edge stayed unreachable.
// Backoff: --attempts N (per command, default 6), --backoff-base-ms, --backoff-max-ms,
// --timeout-ms (per request). TALLY_JITTER_SEED makes the jitter reproducible.
// `--resolved`: the vendor resolved the flagged problem on the edge; clear the flags, then sync.
import { openSite } from "../site.ts";
import { clearFlags } from "../state/flags.ts";
import { defaultBackoff, seededRandom, type BackoffPolicy } from "../sync/backoff.ts";
import { EdgeClient } from "../sync/edge-client.ts";
import { syncOnce } from "../sync/syncer.ts";
import { syncSiteDoc } from "../contract-doc/site-doc.ts";
import { SYNC_BATCH_RECORDS, syncBatchLimits } from "../sync/batcher.ts";
import { CollectorError } from "../errors.ts";
import { integerOption, parseCommandArgs, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const syncUsage = "sync [--max-records N] [--attempts N] [--backoff-base-ms MS] [--backoff-max-ms MS] [--timeout-ms MS] [--resolved] [--state DIR] [--json]";

export const syncOptions = {
  attempts: { type: "string" },
  "backoff-base-ms": { type: "string" },
  "backoff-max-ms": { type: "string" },
  "timeout-ms": { type: "string" },
} as const;

export function backoffFrom(values: Record<string, string | boolean | undefined>): BackoffPolicy {
  return {
    maxAttempts: integerOption(values.attempts, "attempts", defaultBackoff.maxAttempts, 1),
    baseMs: integerOption(values["backoff-base-ms"], "backoff-base-ms", defaultBackoff.baseMs),
    maxMs: integerOption(values["backoff-max-ms"], "backoff-max-ms", defaultBackoff.maxMs),
  };
}

export function jitterFrom(env: NodeJS.ProcessEnv): () => number {
  const seed = env.TALLY_JITTER_SEED;
  if (seed === undefined || seed === "") return Math.random;
  if (!/^\d{1,15}$/.test(seed)) throw new CollectorError("usage", `TALLY_JITTER_SEED must be a whole number, got ${JSON.stringify(seed)}`);
  return seededRandom(Number(seed));
}

export async function syncCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { ...syncOptions, "max-records": { type: "string" }, resolved: { type: "boolean" } }, syncUsage);
  const backoff = backoffFrom(values);
  const random = jitterFrom(io.env);
  const timeoutMs = integerOption(values["timeout-ms"], "timeout-ms", 30_000, 1);
  // Smaller batches: for slow or metered links (and to exercise many round trips in tests).
  const limits = { ...syncBatchLimits, records: integerOption(values["max-records"], "max-records", SYNC_BATCH_RECORDS, 1) };
  if (limits.records > SYNC_BATCH_RECORDS) throw new CollectorError("usage", `--max-records is at most ${SYNC_BATCH_RECORDS}`);
  const paths = stateFrom(values, io.env);
  const site = await openSite(paths);
  try {
    const cleared = values.resolved ? await clearFlags(paths) : [];
    const client = new EdgeClient(site.identity.server, { timeoutMs });
    const report = await syncOnce(site, client, {
      backoff, random, limits,
      onRetry: (attempt, delay, reason) => io.stderr.write(`edge unreachable (${reason}); attempt ${attempt + 1}/${backoff.maxAttempts} in ${delay} ms\n`),
    });
    const doc = await syncSiteDoc(site, timeoutMs); // after the batches, so its balance reflects them
    const json = { ok: true, ...report, pending: report.last_seq - report.acked_seq, doc, ...(cleared.length ? { cleared_flags: cleared } : {}) };
    const text = (report.batches === 0
      ? `nothing to sync: all ${report.acked_seq} records receipted\n`
      : `synced ${report.records_sent} records in ${report.batches} batches; receipted through seq ${report.acked_seq}\n`)
      + (report.revoked_edge_keys ? `the edge revoked its key(s) ${report.revoked_edge_keys.join(", ")}: receipts they sign are refused from now on\n` : "")
      + (doc.ok ? "" : `contract doc not synced: ${doc.error}: ${doc.message}\n`);
    return { exit: 0, json, text };
  } finally {
    await site.close();
  }
}
