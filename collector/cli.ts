#!/usr/bin/env node
// The collector CLI (DESIGN.md §9): `npm run collector -- <command>` or `tally-collector <command>`.
// Exit status: 0 done, 1 a check failed, 2 usage or config error, 3 edge unreachable; a one-line
// reason on stderr otherwise. `--json` prints one JSON result on stdout. `<command> --help` prints
// that command's usage and what it does (exit 0); a usage mistake names the option and prints the
// command's usage (exit 2).
import { backfillCommand, backfillUsage } from "./commands/backfill.ts";
import type { CommandIo, CommandResult } from "./commands/command.ts";
import { initCommand, initUsage } from "./commands/init.ts";
import { parseCommand, parseUsage } from "./commands/parse.ts";
import { revealCommand, revealUsage } from "./commands/reveal.ts";
import { runCommand, runUsage } from "./commands/run.ts";
import { statusCommand, statusUsage } from "./commands/status.ts";
import { syncCommand, syncUsage } from "./commands/sync.ts";
import { verifyCommand, verifyUsage } from "./commands/verify.ts";
import { exportCommand, exportUsage } from "./commands/export.ts";
import { importReceiptCommand, importReceiptUsage } from "./commands/import-receipt.ts";
import { uploadCommand, uploadUsage } from "./commands/upload.ts";
import { rotateKeyCommand, rotateKeyUsage } from "./commands/rotate-key.ts";
import { trustEdgeKeyCommand, trustEdgeKeyUsage } from "./commands/trust-edge-key.ts";
import { distrustEdgeKeyCommand, distrustEdgeKeyUsage } from "./commands/distrust-edge-key.ts";
import { moveCommand, moveUsage } from "./commands/move.ts";
import { asIoError, CollectorError, type ExitStatus } from "./errors.ts";
import { asCollectorError } from "./site.ts";
import { isMainThread } from "node:worker_threads";
import { useNativeEd25519 } from "../shared/protocol/signing.ts";
import { nodeEd25519 } from "./chain/node-ed25519.ts";

// Every command signs and verifies through node:crypto: `verify` and `import-receipt` spend their time on signatures.
useNativeEd25519(nodeEd25519);

interface Command {
  usage: string;
  /** What the command does, for `<command> --help`. */
  about: string;
  run?: (argv: string[], io: CommandIo) => Promise<CommandResult>;
}

const commands: Record<string, Command> = {
  init: { usage: initUsage, run: initCommand, about: "Makes the site's key pair, enrolls it with the edge and writes the state dir." },
  run: { usage: runUsage, run: runCommand, about: "The daemon: follows every configured source, appends signed records, syncs when the edge answers. SIGTERM finishes the step in progress and exits 0; --once reads every source to its end, syncs and exits." },
  backfill: { usage: backfillUsage, run: backfillCommand, about: "Imports a historical log or output file into the chain, once: re-running adds nothing, a grown file adds only what is new." },
  sync: { usage: syncUsage, run: syncCommand, about: "One sync pass; exit 0 only when every record is receipted, 3 when the edge stayed unreachable. --resolved clears trust flags after the vendor resolved them." },
  parse: { usage: parseUsage, about: "No state needed: prints one JSON {kind, data} per line, exactly what backfill would append (--sessions: whole sessions), and a JSON summary on stderr." },
  status: { usage: statusUsage, run: statusCommand, about: "Pending records, last receipt, estimated remaining units, and each source's health, backlog and last error (works offline and while the daemon runs)." },
  verify: { usage: verifyUsage, run: verifyCommand, about: "Checks the whole local log: framing, hash chain, checkpoint signatures, receipts." },
  export: { usage: exportUsage, run: exportCommand, about: "Air-gapped sites: writes every pending record as bundles (one file, or more for a big backlog) to upload from any machine." },
  upload: { usage: uploadUsage, run: uploadCommand, about: "Air-gapped sites, on the connected machine (no state dir): uploads an export's bundles in chain order, whatever order they are given, and writes each reply beside its bundle (or into --out-dir) for import-receipt. Stops at the first refusal; safe to run again." },
  "import-receipt": { usage: importReceiptUsage, run: importReceiptCommand, about: "Air-gapped sites: takes the edge's replies to the uploaded bundles." },
  "rotate-key": { usage: rotateKeyUsage, run: rotateKeyCommand, about: "Writes a key_rotation record: the next batches are signed by a new key." },
  "trust-edge-key": { usage: trustEdgeKeyUsage, run: trustEdgeKeyCommand, about: "Trusts an edge receipt key checked out of band (after a leaked edge key, for an air-gapped site): the key id must be the key's own." },
  "distrust-edge-key": { usage: distrustEdgeKeyUsage, run: distrustEdgeKeyCommand, about: "Stops trusting a leaked edge receipt key (never the last one trusted): nothing it signs or endorses is accepted from then on." },
  move: { usage: moveUsage, run: moveCommand, about: "Points the site at another edge that holds its history (after `core migrate`): new server, token and edge keys; same key and chain." },
  reveal: { usage: revealUsage, run: revealCommand, about: "Shows the user or host name behind a pseudonym (privacy.pseudonymise); only this site can." },
};

const COMMON = `every command: --state DIR (else $TALLY_STATE, else ./.tally), --json (one JSON result on stdout)
exit status: 0 done, 1 a check failed, 2 usage or config error, 3 edge unreachable`;

export const usage = `usage: tally-collector <command> [options]   (tally-collector <command> --help for one command)

${Object.values(commands).map((c) => `  ${c.usage}`).join("\n")}

${COMMON}
`;

export function commandHelp(name: string): string {
  const c = commands[name]!;
  return `usage: tally-collector ${c.usage}\n\n${c.about}\n\n${COMMON}\n`;
}

export async function main(argv: string[], io: CommandIo): Promise<ExitStatus> {
  const [name, ...rest] = argv;
  const json = rest.includes("--json");
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.stderr : io.stdout).write(usage);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    io.stderr.write(`unknown command ${JSON.stringify(name)} (see --help)\n`);
    return 2;
  }
  const end = rest.indexOf("--");
  if ((end < 0 ? rest : rest.slice(0, end)).some((a) => a === "--help" || a === "-h")) {
    io.stdout.write(commandHelp(name));
    return 0;
  }
  if (!command.run) {
    // `parse` writes its own output and one JSON line on stderr (and the usage after a usage mistake).
    return (await parseCommand(rest, io)) as ExitStatus;
  }
  try {
    const result = await command.run(rest, io);
    io.stdout.write(json ? JSON.stringify(result.json) + "\n" : result.text);
    if (result.exit !== 0) io.stderr.write(`${name}: ${String(result.json.error ?? "failed")}: ${firstLine(result.text)}\n`);
    return result.exit;
  } catch (thrown) {
    // The log's own refusals (a record that rotted since open, a log that refuses after a failed
    // rollback) keep their stable code, as they do when open meets them.
    // A full or failing disk keeps a stable code too (io_error), not an internal error's stack.
    const e = asIoError(asCollectorError(thrown));
    if (!(e instanceof CollectorError)) {
      io.stderr.write(`${name}: internal error: ${(e as Error).stack ?? String(e)}\n`);
      if (json) io.stdout.write(JSON.stringify({ ok: false, error: "internal", message: (e as Error).message }) + "\n");
      return 1;
    }
    if (json) io.stdout.write(JSON.stringify({ ok: false, error: e.code, message: e.message, ...e.details }) + "\n");
    io.stderr.write(`${name}: ${e.code}: ${e.message}\n`);
    return e.exit;
  }
}

function firstLine(text: string): string {
  return text.split("\n")[0]!.replace(/^FAILED \S+ ?/, "");
}

// Off the main thread this file is the bundle re-entered as a parse worker (line-parse-worker.ts,
// daemon/step-worker.ts): no CLI there.
const invokedDirectly = isMainThread && process.argv[1] !== undefined && /cli\.(ts|js|mjs)$|tally-collector(\.mjs)?$/.test(process.argv[1]);
if (invokedDirectly) {
  const io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  }, (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
