// What every collector command shares: its I/O, its result (one JSON object for `--json`, a
// few lines for people), the common options `--state DIR` and `--json`, and argument parsing
// that turns a usage mistake into exit status 2 with the option named and the command's usage.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { CollectorError, type ExitStatus } from "../errors.ts";
import { resolveStateDir, statePaths, type StatePaths } from "../state/state-dir.ts";

export interface CommandIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
}

export interface CommandResult {
  exit: ExitStatus;
  /** The `--json` result. */
  json: Record<string, unknown>;
  /** What people read on stdout without `--json`. */
  text: string;
}

type Options = NonNullable<ParseArgsConfig["options"]>;
type ParseArgsToken = NonNullable<ReturnType<typeof parseArgs>["tokens"]>[number];

export const commonOptions = {
  state: { type: "string" },
  json: { type: "boolean" },
} as const satisfies Options;

export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return noEmptyValues(parseArgs({ args: argv, options: { ...commonOptions, ...options }, strict: true, allowPositionals: false, tokens: true }), usage, { ...commonOptions, ...options });
  } catch (e) {
    if (e instanceof CollectorError) throw e;
    throw new CollectorError("usage", `${argumentProblem(e)}; usage: tally-collector ${usage}`);
  }
}

/** Like parseCommandArgs, for commands that take operands (`import-receipt F`, `reveal NAME…`). */
export function parseCommandOperands<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return noEmptyValues(parseArgs({ args: argv, options: { ...commonOptions, ...options }, strict: true, allowPositionals: true, tokens: true }), usage, { ...commonOptions, ...options });
  } catch (e) {
    if (e instanceof CollectorError) throw e;
    throw new CollectorError("usage", `${argumentProblem(e)}; usage: tally-collector ${usage}`);
  }
}

/** An option given as "" (`--state=`, `--timezone ""`: an unset shell variable) is a mistake: taken as
 *  absent it would silently mean the default (this machine's zone, the working directory as state). */
export function emptyOption(values: Record<string, unknown>): string | undefined {
  return Object.keys(values).find((name) => values[name] === "");
}

/** An option that takes one value, given more than once (`--timezone A … --timezone B`): node's
 *  parseArgs keeps the last and drops the others, silently. Named with its values, or undefined. */
export function repeatedOption(tokens: readonly ParseArgsToken[] | undefined, options: Options): string | undefined {
  const given = new Map<string, string[]>();
  for (const t of tokens ?? []) {
    if (t.kind !== "option" || options[t.name]?.type !== "string" || options[t.name]?.multiple) continue;
    const values = given.get(t.name) ?? [];
    values.push(t.value ?? "");
    given.set(t.name, values);
    if (values.length > 1) return `option --${t.name} is given more than once (${values.map((v) => JSON.stringify(v)).join(", ")}): give it once`;
  }
  return undefined;
}

function noEmptyValues<P extends { values: Record<string, unknown>; tokens?: ParseArgsToken[] }>(parsed: P, usage: string, options: Options): P {
  const repeated = repeatedOption(parsed.tokens, options);
  if (repeated !== undefined) throw new CollectorError("usage", `${repeated}; usage: tally-collector ${usage}`);
  const empty = emptyOption(parsed.values);
  if (empty !== undefined) throw new CollectorError("usage", `option --${empty} needs a value; usage: tally-collector ${usage}`);
  return parsed;
}

/** node:util's parseArgs message, short: which option, and what is wrong with it. */
function argumentProblem(e: unknown): string {
  const err = e as Error & { code?: string };
  const option = /'(-[^' ]*)/.exec(err.message)?.[1];
  if (err.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option) return `unknown option ${option}`;
  if (err.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return `unexpected argument ${/'([^']*)'/.exec(err.message)?.[1] ?? ""}`.trim();
  if (err.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && option) return `option ${option}: ${err.message.replace(/^Option '[^']*' /, "")}`;
  return err.message;
}

export function stateFrom(values: { state?: string | boolean | undefined }, env: NodeJS.ProcessEnv): StatePaths {
  const flag = typeof values.state === "string" ? values.state : undefined;
  // As `--state ""`: an environment that sets TALLY_STATE to nothing (`TALLY_STATE=$UNSET`) meant a
  // state dir, not the working directory's ./.tally.
  if (flag === undefined && env.TALLY_STATE === "") throw new CollectorError("usage", "TALLY_STATE is set but empty: give the state dir (TALLY_STATE=DIR or --state DIR), or unset it for ./.tally");
  return statePaths(resolveStateDir(flag, env));
}

export function requireOption(value: string | boolean | undefined, name: string, usage: string): string {
  if (typeof value !== "string" || value === "") throw new CollectorError("usage", `--${name} is required; usage: tally-collector ${usage}`);
  return value;
}

export function integerOption(value: string | boolean | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new CollectorError("usage", `--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** `--package-features A,B`: the feature names, trimmed; an empty list is a mistake, not "none". */
export function featureListOption(value: string | boolean | undefined, name: string): string[] | undefined {
  if (value === undefined) return undefined;
  const features = typeof value === "string" ? value.split(",").map((f) => f.trim()).filter(Boolean) : [];
  if (features.length === 0) throw new CollectorError("usage", `--${name} must name at least one feature (A,B), got ${JSON.stringify(value)}`);
  return features;
}
