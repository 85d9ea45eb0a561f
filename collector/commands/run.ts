// `run --config FILE [--once]`: the daemon (see daemon/site-daemon.ts). Holds the state dir's
// log lock while it runs; SIGINT/SIGTERM finish the current round and exit 0. `--once` does
// one full round (read every source, heartbeat, cut, sync) and exits, for cron-style use.
import { loadRunConfig } from "../daemon/run-config.ts";
import { SiteDaemon } from "../daemon/site-daemon.ts";
import { openSite } from "../site.ts";
import { EdgeClient } from "../sync/edge-client.ts";
import { parseCommandArgs, requireOption, stateFrom, type CommandIo, type CommandResult } from "./command.ts";
import { backoffFrom, jitterFrom, syncOptions } from "./sync.ts";

export const runUsage = "run --config FILE [--once] [--attempts N] [--state DIR] [--json]";

export async function runCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values } = parseCommandArgs(argv, { config: { type: "string" }, once: { type: "boolean" }, ...syncOptions }, runUsage);
  const config = await loadRunConfig(requireOption(values.config, "config", runUsage));
  // A running daemon retries on its own schedule, so each sync gives up quickly.
  const backoff = backoffFrom({ ...values, attempts: values.attempts ?? "2" });
  const site = await openSite(stateFrom(values, io.env));
  const daemon = new SiteDaemon(site, config, new EdgeClient(site.identity.server), {
    backoff, random: jitterFrom(io.env), log: (line) => io.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  try {
    await daemon.start();
    if (values.once) await daemon.tick(true);
    else {
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      io.stderr.write(`running: ${config.sources.length} sources, state ${site.paths.dir}\n`);
      await daemon.run(stop.signal);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await daemon.close();
    await site.close();
  }
  const json = { ok: true, appended: daemon.appended, last_seq: site.log.lastSeq(), acked_seq: site.log.ackedSeq() };
  return { exit: 0, json, text: `appended ${daemon.appended} records; receipted through seq ${json.acked_seq} of ${json.last_seq}\n` };
}
