// `reveal NAME…`: the real user or host name behind a pseudonym (privacy.pseudonymise), from the
// names this site pseudonymised (state/pseudonyms.ts). Only the site can answer: the key and the
// names never leave it. Exit 1 when a name is not a pseudonym of this site.
import { CollectorError } from "../errors.ts";
import { Pseudonyms } from "../state/pseudonyms.ts";
import { parseCommandOperands, stateFrom, type CommandIo, type CommandResult } from "./command.ts";

export const revealUsage = "reveal PSEUDONYM… [--state DIR] [--json]";

export async function revealCommand(argv: string[], io: CommandIo): Promise<CommandResult> {
  const { values, positionals } = parseCommandOperands(argv, {}, revealUsage);
  if (positionals.length === 0) throw new CollectorError("usage", `at least one pseudonym is required; usage: tally-collector ${revealUsage}`);
  const paths = stateFrom(values, io.env);
  const pseudonyms = await Pseudonyms.open(paths, { create: false });
  if (!pseudonyms) throw new CollectorError("bad_state", `${paths.dir} has no privacy key: this site never pseudonymised a name (privacy.pseudonymise)`);
  const found = positionals.map((p) => ({ pseudonym: p, ...(pseudonyms.reveal(p) ?? { kind: null, name: null }) }));
  const unknown = found.filter((f) => f.name === null);
  const json = { ok: unknown.length === 0, names: found, ...(unknown.length ? { error: "unknown_pseudonym" } : {}) };
  const text = found.map((f) => (f.name === null ? `${f.pseudonym}: not a pseudonym of this site` : `${f.pseudonym}: ${f.kind} ${f.name}`)).join("\n") + "\n";
  return { exit: unknown.length ? 1 : 0, json, text };
}
