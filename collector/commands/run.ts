// `run --config FILE [--once]`: the daemon (daemon/site-daemon.ts). Holds the state dir's log lock
// while it runs; SIGINT/SIGTERM end the step in progress (its records and read position together)
// and the round, then exit 0. `--once` reads every source to its end, writes a heartbeat, syncs and
// exits, for cron-style use. Exit 2 only for what a person must fix: the config or the state dir.
import { loadRunConfig } from "../daemon/run-config.ts";
import { SiteDaemon } from "../daemon/site-daemon.ts";
import { CollectorError } from "../errors.ts";
import { openSite } from "../site.ts";
import { threadFromEnv } from "../sources/parse-file.ts";
import { EdgeClient } from "../sync/edge-client.ts";
import { integerOption, parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";
import { backoffFrom, jitterFrom, syncOptions } from "./sync.ts";

export const runUsage = "run --config FILE [--once] [--attempts N] [--backoff-base-ms MS] [--backoff-max-ms MS] [--timeout-ms MS] [--state DIR] [--json]";

export async function runCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { config: { type: "string" }, once: { type: "boolean" }, ...syncOptions }, runUsage);
  const config = await loadRunConfig(requireOption(values.config, "config", runUsage));
  // Read as each log source opens: a bad value would fail every one of them, retried for ever.
  try {
    threadFromEnv();
  } catch (e) {
    throw new CollectorError("bad_config", (e as Error).message);
  }
  // A running daemon retries on its own schedule, so each sync gives up quickly.
  const backoff = backoffFrom({ ...values, attempts: values.attempts ?? "2" });
  const timeoutMs = integerOption(values["timeout-ms"], "timeout-ms", 30_000, 1);
  const random = jitterFrom(io.env);
  const site = await openSite(stateFrom(values, io.env));
  const log = (line: string) => io.stderr.write(`${new Date().toISOString()} ${line}\n`);
  for (const [source, recovery] of Object.entries(site.journals)) log(`source ${source}: last append before the restart ${recovery.replace(/_/g, " ")}`);
  let daemon: SiteDaemon | undefined;
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  try {
    daemon = await SiteDaemon.start(site, config, new EdgeClient(site.identity.server, { timeoutMs }), { backoff, random, log, timeoutMs });
    if (values.once) await daemon.once();
    else {
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      log(`running: ${config.sources.length} sources, state ${site.paths.dir}${config.metrics_listen ? `, metrics on http://${config.metrics_listen.host}:${config.metrics_listen.port}/metrics` : ""}`);
      await daemon.run(stop.signal);
      log("stopped");
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await daemon?.close();
    await site.close();
  }
  const json = { ok: true, appended: daemon.appended, last_seq: site.log.lastSeq(), acked_seq: site.log.ackedSeq(), sync: daemon.status()?.sync ?? null };
  return { exit: 0, json, text: `appended ${daemon.appended} records; receipted through seq ${json.acked_seq} of ${json.last_seq}\n` };
}
