// A self-hosted core (`npm run core`, scripts/core.ts) as a real process for tests: started on a
// data dir with a free port, its JSON log captured, stopped with SIGTERM (or killed with -9, to
// play a crash). The build is made once per source tree and shared by every test file through
// its cache (dist/core/<source hash>/).
//
//   const build = await coreBuild();
//   const core = await startCore({ data, secrets, build });
//   … core.url …
//   expect(await core.stop()).toEqual({ code: 0, signal: null });
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { ensureBuild, REPO_ROOT, type CoreBuild } from "../../scripts/core/build.ts";

export interface CoreSecrets { ADMIN_TOKEN: string; EDGE_SIGNING_KEY: string; EDGE_SIGNING_KEYS_PREVIOUS?: string; EDGE_SIGNING_KEYS_REVOKED?: string }

export function freshSecrets(): CoreSecrets {
  return { ADMIN_TOKEN: `adm_${randomBytes(16).toString("hex")}`, EDGE_SIGNING_KEY: randomBytes(32).toString("hex") };
}

let shared: Promise<CoreBuild> | undefined;
/** The current tree's core build (built at most once per run, whatever the number of files). */
export function coreBuild(): Promise<CoreBuild> {
  shared ??= ensureBuild({ say: () => undefined });
  return shared;
}

const CORE = ["--disable-warning=ExperimentalWarning", join(REPO_ROOT, "scripts/core.ts")];

/** Environment for a core child: the caller's, minus any secrets it happens to have, plus `secrets`. */
function coreEnv(secrets: Partial<CoreSecrets> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ADMIN_TOKEN;
  delete env.EDGE_SIGNING_KEY;
  delete env.EDGE_SIGNING_KEYS_PREVIOUS;
  delete env.EDGE_SIGNING_KEYS_REVOKED;
  return { ...env, ...secrets };
}

export interface CoreRun { code: number | null; stdout: string; stderr: string }

/** Runs a core command to its end (backup, restore, a refused start). */
export function runCore(args: string[], secrets?: Partial<CoreSecrets>): Promise<CoreRun> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [...CORE, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: coreEnv(secrets), detached: true });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", fail);
    child.once("close", (code) => {
      killGroup(child);
      ok({ code, stdout, stderr });
    });
  });
}

export interface CoreProcess {
  url: string;
  data: string;
  pid: number;
  /** Every JSON line the core wrote to stdout so far. */
  lines(): Array<Record<string, unknown>>;
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL to the group after `graceMs`). */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** A crash: SIGKILL to the core and its workerd. */
  kill9(): Promise<void>;
}

export interface StartCoreOptions {
  data: string;
  secrets: CoreSecrets;
  build: CoreBuild;
  args?: string[];
}

export async function startCore(options: StartCoreOptions): Promise<CoreProcess> {
  // Own process group: a crash test can kill the core and its workerd, and only those.
  const child = spawn(process.execPath, [...CORE, "--data", options.data, "--port", "0", "--build", options.build.dir, ...(options.args ?? [])], {
    cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"], env: coreEnv(options.secrets), detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((ok) => child.once("exit", (code, signal) => ok({ code, signal })));
  const lines = () => stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  const output = () => `${stdout}\n${stderr}`;

  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void exited.then((r) => (done = r));
  const deadline = performance.now() + 120_000;
  let started: Record<string, unknown> | undefined;
  while (!started) {
    if (done) throw new Error(`core exited (${JSON.stringify(done)}) before it started:\n${output().slice(-3000)}`);
    if (performance.now() > deadline) {
      killGroup(child);
      throw new Error(`core did not start within 120 s:\n${output().slice(-3000)}`);
    }
    started = lines().find((l) => l.event === "started");
    if (!started) await new Promise((ok) => setTimeout(ok, 100));
  }
  return {
    url: String(started.url), data: options.data, pid: child.pid!, lines, output,
    async stop(graceMs = 60_000) {
      if (!done) {
        process.kill(child.pid!, "SIGTERM");
        const timer = setTimeout(() => killGroup(child), graceMs);
        await exited;
        clearTimeout(timer);
      }
      killGroup(child);
      return exited;
    },
    async kill9() {
      killGroup(child);
      await exited;
    },
  };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {
    // already gone
  }
}
