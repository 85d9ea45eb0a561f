// Runs the collector CLI as a real process (`node --import tsx collector/cli.ts …`, or with
// `stripTypes` Node 22's own type stripping, which starts faster), the way a site runs it, and
// captures its exit status, stdout (parsed when --json) and stderr.
import { spawn } from "node:child_process";
import { REPO_ROOT } from "./local-edge.ts";

export interface CollectorRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON when it is one JSON line, else undefined. */
  json: Record<string, unknown> | undefined;
}

export function runCollector(args: string[], opts: { env?: NodeJS.ProcessEnv; stripTypes?: boolean } = {}): Promise<CollectorRun> {
  const loader = opts.stripTypes ? ["--disable-warning=ExperimentalWarning"] : ["--import", "tsx"];
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...loader, "collector/cli.ts", ...args], {
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
