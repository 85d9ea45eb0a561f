// Runs the collector CLI as a real process — the bundled script sites install, built from the
// sources once per run (run-setup.ts) — the way a site runs it, and captures its exit status,
// stdout (parsed when --json) and stderr. The bundle starts in ~0.2 s where the sources through
// tsx or Node's type stripping take ~0.7 s: the suite runs a few hundred collector processes.
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./local-edge.ts";
import { provided } from "./run-provided.ts";

export interface CollectorRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is one JSON line, else undefined. */
  json: Record<string, unknown> | undefined;
}

/** Bundles the collector (scripts/build-collector.ts) into `dir` — or, with `entry` (a path from the
 *  repo root), another script the same way; returns the script's path. */
export async function bundleCollector(dir: string, entry?: string): Promise<string> {
  const script = join(dir, "tally-collector.mjs");
  const build = await new Promise<{ status: number | null; stderr: string }>((ok, fail) => {
    const args = ["scripts/build-collector.ts", "--outfile", script, ...(entry !== undefined ? ["--entry", entry] : [])];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("close", (status) => ok({ status, stderr }));
  });
  if (build.status !== 0) throw new Error(`bundling the collector failed: ${build.stderr}`);
  return script;
}

let fileBundle: Promise<string> | undefined;

/** The run's bundle of the collector (run-setup.ts); in a project without that setup,
 *  this file's own (built on first use, removed when the process exits). Never written to. */
export function collectorBundle(): Promise<string> {
  fileBundle ??= provided("collectorBundle").then(async (shared) => {
    if (shared) return shared;
    const dir = await mkdtemp(join(tmpdir(), "tally-collector-bundle-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    return bundleCollector(dir);
  });
  return fileBundle;
}

/** `script`: a bundle from bundleCollector (default: this file's collectorBundle()). */
export async function runCollector(args: string[], opts: { env?: NodeJS.ProcessEnv; script?: string } = {}): Promise<CollectorRun> {
  const script = opts.script ?? (await collectorBundle());
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [script, ...args], {
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
