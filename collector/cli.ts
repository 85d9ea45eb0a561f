#!/usr/bin/env node
// The collector CLI (DESIGN.md §9): `npm run collector -- <command>` or `tally-collector <command>`.
// Exit status: 0 done, 1 a check failed, 2 usage or config error, 3 edge unreachable; a one-line
// reason on stderr otherwise. `--json` prints one JSON result on stdout.
import { backfillCommand, backfillUsage } from "./commands/backfill.ts";
import type { CommandIo, CommandResult } from "./commands/command.ts";
import { initCommand, initUsage } from "./commands/init.ts";
import { parseCommand } from "./commands/parse.ts";
import { runCommand, runUsage } from "./commands/run.ts";
import { statusCommand, statusUsage } from "./commands/status.ts";
import { syncCommand, syncUsage } from "./commands/sync.ts";
import { verifyCommand, verifyUsage } from "./commands/verify.ts";
import { exportCommand, exportUsage } from "./commands/export.ts";
import { importReceiptCommand, importReceiptUsage } from "./commands/import-receipt.ts";
import { rotateKeyCommand, rotateKeyUsage } from "./commands/rotate-key.ts";
import { CollectorError, type ExitStatus } from "./errors.ts";

export const usage = `usage: tally-collector <command> [options]   (every command: --state DIR, --json)

  ${initUsage}
  ${runUsage}
  ${backfillUsage}
  ${syncUsage}
  parse --source KIND --file F [--timezone Z] [--sessions]
  ${statusUsage}
  ${verifyUsage}
  ${exportUsage}
  ${importReceiptUsage}
  ${rotateKeyUsage}

state dir: --state DIR, else $TALLY_STATE, else ./.tally
exit status: 0 done, 1 a check failed, 2 usage or config error, 3 edge unreachable
`;

const commands: Record<string, (argv: string[], io: CommandIo) => Promise<CommandResult>> = {
  init: initCommand,
  run: runCommand,
  backfill: backfillCommand,
  sync: syncCommand,
  status: statusCommand,
  verify: verifyCommand,
  export: exportCommand,
  "import-receipt": importReceiptCommand,
  "rotate-key": rotateKeyCommand,
};

export async function main(argv: string[], io: CommandIo): Promise<ExitStatus> {
  const [name, ...rest] = argv;
  const json = rest.includes("--json");
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    (name === undefined ? io.stderr : io.stdout).write(usage);
    return name === undefined ? 2 : 0;
  }
  if (name === "parse") return (await parseCommand(rest, io)) as ExitStatus;
  const command = commands[name];
  if (!command) {
    io.stderr.write(`unknown command ${JSON.stringify(name)} (see --help)\n`);
    return 2;
  }
  try {
    const result = await command(rest, io);
    io.stdout.write(json ? JSON.stringify(result.json) + "\n" : result.text);
    if (result.exit !== 0) io.stderr.write(`${name}: ${String(result.json.error ?? "failed")}: ${firstLine(result.text)}\n`);
    return result.exit;
  } catch (e) {
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

const invokedDirectly = process.argv[1] !== undefined && /cli\.(ts|js|mjs)$|tally-collector(\.mjs)?$/.test(process.argv[1]);
if (invokedDirectly) {
  const io: CommandIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  main(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
  }, (e: unknown) => {
    process.stderr.write(`internal error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  });
}
