// Runs the CLI's main() in-process with captured stdout/stderr (for fast usage/config tests; `run
// --once` of a config: runOnce),
// and makes an enrolled state dir without an edge (key + identity files, as `init` writes them);
// reads back what a command appended to a state dir's log.
import { Writable } from "node:stream";
import { mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair, parseStrictJson, type ChainRecord } from "../../../shared/protocol/index.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { main } from "../../../collector/cli.ts";
import { saveIdentity, saveKey } from "../../../collector/state/identity.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";

export interface Captured { status: number; stdout: string; stderr: string; json: Record<string, unknown> | undefined }

export async function cli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<Captured> {
  let stdout = "";
  let stderr = "";
  const sink = (append: (s: string) => void) => new Writable({ write(chunk, _enc, done) { append(String(chunk)); done(); } });
  const status = await main(argv, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env });
  let json: Record<string, unknown> | undefined;
  try { json = JSON.parse(stdout) as Record<string, unknown>; } catch { json = undefined; }
  return { status, stdout, stderr, json };
}

/** `run --once` of the config file `config` on state dir `state`, one attempt at the edge, answered as JSON. */
export function runOnce(config: string, state: string): Promise<Captured> {
  return cli(["run", "--config", config, "--once", "--attempts", "1", "--state", state, "--json"]);
}

/** An enrolled state dir pointing at `server` (nothing listens there unless the test starts it). */
export async function enrolledState(dir: string, server = "http://127.0.0.1:9"): Promise<void> {
  await mkdir(dir, { recursive: true });
  const paths = statePaths(dir);
  const key = generateKeyPair();
  await saveKey(paths, { secret_key: key.secretKey, public_key: key.publicKey });
  await saveIdentity(paths, { collector_id: "col_cli_test", contract_id: "ctr_cli_test", server, site: "test", scope: null, enrolled_at: "2026-11-27T00:00:00.000Z" }, "tok_test");
}

/** A fresh tmp dir `tally-<name>-…` holding an enrolled state dir at `<dir>/state`; the test removes `dir`. */
export async function enrolledTmpState(name: string): Promise<{ dir: string; state: string }> {
  const dir = await mkdtemp(join(tmpdir(), `tally-${name}-`));
  const state = join(dir, "state");
  await enrolledState(state);
  return { dir, state };
}

/** Every record of a state dir's log, in order (the test's view of what a command appended). */
export async function logRecords(state: string): Promise<ChainRecord[]> {
  const { log } = await SegmentLog.open(join(state, "log"));
  const entries = await log.read(1, { maxCount: 100_000, maxBytes: 1 << 30 });
  await log.close();
  return entries.map((e) => parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord);
}
