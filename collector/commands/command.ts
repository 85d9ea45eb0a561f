// What every collector command shares: its I/O, its result (one JSON object for `--json`, a
// few lines for people), the common options `--state DIR` and `--json`, and argument parsing
// that turns a usage mistake into exit status 2.
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

export const commonOptions = {
  state: { type: "string" },
  json: { type: "boolean" },
} as const satisfies Options;

export function parseCommandArgs<O extends Options>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options: { ...commonOptions, ...options }, strict: true, allowPositionals: false });
  } catch (e) {
    throw new CollectorError("usage", `${(e as Error).message}; usage: ${usage}`);
  }
}

export function stateFrom(values: { state?: string | boolean | undefined }, env: NodeJS.ProcessEnv): StatePaths {
  return statePaths(resolveStateDir(typeof values.state === "string" ? values.state : undefined, env));
}

export function requireOption(value: string | boolean | undefined, name: string, usage: string): string {
  if (typeof value !== "string" || value === "") throw new CollectorError("usage", `--${name} is required; usage: ${usage}`);
  return value;
}

export function integerOption(value: string | boolean | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new CollectorError("usage", `--${name} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}
