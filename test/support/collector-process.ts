// Runs the collector CLI as a real process (`node --import tsx collector/cli.ts …`, Node's own
// type stripping, or the bundled script sites install, which starts several times faster), the
// way a site runs it, and captures its exit status, stdout (parsed when --json) and stderr.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./local-edge.ts";

export interface CollectorRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is one JSON line, else undefined. */
  json: Record<string, unknown> | undefined;
}

/** Bundles the collector (scripts/build-collector.ts) into `dir`; returns the script's path. */
export async function bundleCollector(dir: string): Promise<string> {
  const script = join(dir, "tally-collector.mjs");
  const build = await new Promise<{ status: number | null; stderr: string }>((ok, fail) => {
    const child = spawn(process.execPath, ["scripts/build-collector.ts", "--outfile", script], { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("close", (status) => ok({ status, stderr }));
  });
  if (build.status !== 0) throw new Error(`bundling the collector failed: ${build.stderr}`);
  return script;
}

/** `script`: a bundle from bundleCollector; `stripTypes`: the sources through Node 22's own type
 *  stripping (faster to start than tsx); default: the sources through tsx. */
export function runCollector(args: string[], opts: { env?: NodeJS.ProcessEnv; script?: string; stripTypes?: boolean } = {}): Promise<CollectorRun> {
  const entry = opts.script ? [opts.script]
    : opts.stripTypes ? ["--disable-warning=ExperimentalWarning", "collector/cli.ts"]
    : ["--import", "tsx", "collector/cli.ts"];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("close", (status) => {
      let json: Record<string, unknown> | undefined;
      try { json = JSON.parse(stdout) as Record<string, unknown>; } catch { json = undefined; }
      ok({ status, stdout, stderr, json });
    });
  });
}
