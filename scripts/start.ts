// `npm start`: the whole product on one machine, for a newcomer. A local edge (wrangler dev on
// workerd, local D1 + Durable Objects under .wrangler/), a demo vendor with two contracts whose
// last 60 days of simulated use are backfilled first (scripts/demo-seed.ts), then a collector
// fed live by a simulated FlexLM vendor daemon; the balance is printed as it moves. The demo's
// collectors reach the edge through a loopback clock relay (scripts/demo-clock-relay.ts) on
// PORT+1. Ctrl-C stops everything this script started.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { FlexlmSimulator } from "./flexlm-simulator.ts";
import { startClockRelay, type ClockRelay } from "./demo-clock-relay.ts";
import { seedDemo, type Demo } from "./demo-seed.ts";

const ROOT = resolve(import.meta.dirname, "..");
const DEMO = join(ROOT, ".tally-demo");
const PORT = Number(process.env.PORT ?? 8787);
const EDGE = `http://127.0.0.1:${PORT}`;
const TIMEZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;
const children: ChildProcess[] = [];
const STARTED = Date.now();
// The machine may be offline: no Request.cf download, no telemetry.
const OFFLINE_ENV = { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" };

function say(line: string) {
  process.stdout.write(`${line}\n`);
}

/** `.dev.vars` holds the local secrets (git-ignored); made with random values when missing. */
async function devVars(): Promise<Record<string, string>> {
  const file = join(ROOT, ".dev.vars");
  if (!existsSync(file)) {
    await writeFile(file, `ADMIN_TOKEN=adm_${randomBytes(24).toString("hex")}\nEDGE_SIGNING_KEY=${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
    say("created .dev.vars with random ADMIN_TOKEN and EDGE_SIGNING_KEY");
  }
  const vars: Record<string, string> = {};
  for (const line of (await readFile(file, "utf8")).split("\n")) {
    const m = /^\s*([A-Z_]+)\s*=\s*"?([^"]*)"?\s*$/.exec(line);
    if (m) vars[m[1]!] = m[2]!;
  }
  if (!vars.ADMIN_TOKEN || !vars.EDGE_SIGNING_KEY) throw new Error(".dev.vars must set ADMIN_TOKEN and EDGE_SIGNING_KEY");
  return vars;
}

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: OFFLINE_ENV });
    let out = "";
    child.stdout.on("data", (d: Buffer) => { out += d; if (!opts.quiet) process.stdout.write(d); });
    child.stderr.on("data", (d: Buffer) => { out += d; if (!opts.quiet) process.stderr.write(d); });
    child.once("error", fail);
    child.once("exit", (code) => (code === 0 ? ok(out) : fail(new Error(`${cmd} ${args.join(" ")} exited ${code}\n${out.slice(-2000)}`))));
  });
}

/** Starts a long-running child in its own process group, so Ctrl-C can end it and what it spawned. */
function background(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = OFFLINE_ENV): ChildProcess {
  const child = spawn(cmd, args, { cwd: ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env });
  const prefix = (d: Buffer) => d.toString().split("\n").filter(Boolean).map((l) => `  [${name}] ${l}`).join("\n") + "\n";
  child.stdout!.on("data", (d: Buffer) => process.stdout.write(prefix(d)));
  child.stderr!.on("data", (d: Buffer) => process.stderr.write(prefix(d)));
  children.push(child);
  return child;
}

async function api<T>(method: string, path: string, bearer: string, body?: unknown): Promise<T> {
  const r = await fetch(EDGE + path, {
    method, headers: { authorization: `Bearer ${bearer}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return JSON.parse(text) as T;
}

async function waitForEdge(edge: ChildProcess) {
  for (let i = 0; i < 240; i++) {
    if (edge.exitCode !== null) throw new Error("wrangler dev exited before the edge came up");
    try {
      if ((await fetch(`${EDGE}/health`)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the edge did not answer on ${EDGE}/health within 2 minutes`);
}

/** The demo vendor, contracts and enrolled collectors; reused across runs while the local state lasts. */
async function seed(adminToken: string, relay: ClockRelay): Promise<Demo> {
  const file = join(DEMO, "demo.json");
  if (existsSync(file)) {
    const demo = JSON.parse(await readFile(file, "utf8")) as Partial<Demo> & { relay_url?: string };
    // The collectors are enrolled against the relay's URL: another PORT means another demo.
    if (demo.contracts && demo.vendor_key && demo.relay_url === relay.url) {
      const r = await fetch(`${EDGE}/v1/contracts/${demo.contract_id}`, { headers: { authorization: `Bearer ${demo.vendor_key}` } });
      if (r.ok) return demo as Demo;
    }
    say("the local edge state was reset (or PORT or the demo changed): seeding a new demo");
  }
  await run("rm", ["-rf", join(DEMO, "collector-acme"), join(DEMO, "collector-borealis"), join(DEMO, "history")], { quiet: true });
  const started = Date.now();
  const demo = await seedDemo({ edge: EDGE, adminToken, dir: DEMO, timezone: TIMEZONE, relay, say });
  say(`demo seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await writeFile(file, JSON.stringify({ ...demo, relay_url: relay.url }, null, 2), { mode: 0o600 });
  return demo;
}

function describeBalance(b: Record<string, any>): string {
  const features = (b.usage?.by_feature ?? []).map((f: any) => `${f.feature} ${f.license_seconds}s${f.units ? ` (${f.units} ${b.unit_name ?? "units"})` : ""}`).join(", ");
  const remaining = b.remaining_units != null ? `  remaining ${b.remaining_units} ${b.unit_name}` : "";
  const acked = (b.collectors ?? []).map((c: any) => `${c.site ?? c.collector_id}@${c.acked_seq}`).join(" ");
  return `${new Date().toISOString().slice(11, 19)}  license-seconds ${b.usage?.license_seconds ?? 0}${remaining}  [${features || "no usage yet"}]  sites ${acked}${b.status ? `  ${b.status}` : ""}`;
}

async function main() {
  await mkdir(DEMO, { recursive: true });
  const vars = await devVars();
  say("applying local D1 migrations …");
  await run("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local"], { quiet: true });
  say(`starting the edge on ${EDGE} (wrangler dev) …`);
  // Its own inspector port: the default (9229) may be taken by another wrangler on the machine.
  const edge = background("edge", "npx", ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(PORT), "--inspector-port", String(PORT + 2), "--show-interactive-dev-session=false", "--log-level", "warn"]);
  await waitForEdge(edge);
  const relay = await startClockRelay(EDGE, PORT + 1);
  const demo = await seed(vars.ADMIN_TOKEN!, relay);
  say(`first balance ${((Date.now() - STARTED) / 1000).toFixed(1)} s after npm start:`);
  say(describeBalance(await api("GET", `/v1/contracts/${demo.contract_id}/balance`, demo.vendor_key)));

  const log = join(DEMO, "lmgrd.log");
  const sim = new FlexlmSimulator({ file: log, timezone: TIMEZONE, seed: Date.now() % 100_000, checkoutRate: 0.35 });
  sim.start(Date.now());
  const simTimer = setInterval(() => sim.step(Date.now()), 2000);
  const config = join(DEMO, "collector.json");
  await writeFile(config, JSON.stringify({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file: log, timezone: TIMEZONE, interval_s: 2 }], cut_s: 60, heartbeat_s: 60, sync_s: 5 }, null, 2));
  background("collector", process.execPath, ["collector/cli.ts", "run", "--config", config, "--state", demo.contracts[0]!.state]);

  say("");
  say(`edge        ${EDGE}   (API reference: ${EDGE}/docs)`);
  for (const c of demo.contracts) say(`contract    ${c.id}   ${c.customer} (${c.site})`);
  say(`vendor key  in .tally-demo/demo.json   console: ${EDGE}/console`);
  if (demo.status_url) say(`status page ${demo.status_url}`);
  say(`FlexLM log  ${log}`);
  say("Ctrl-C stops everything.\n");

  const printer = setInterval(async () => {
    try {
      say(describeBalance(await api("GET", `/v1/contracts/${demo.contract_id}/balance`, demo.vendor_key)));
    } catch (e) {
      say(`balance unavailable: ${(e as Error).message}`);
    }
  }, 5000);

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    say("\nstopping …");
    clearInterval(printer);
    clearInterval(simTimer);
    sim.shutdown(Date.now());
    for (const child of children) {
      try { process.kill(-child.pid!, "SIGTERM"); } catch { /* gone */ }
    }
    setTimeout(() => {
      for (const child of children) {
        try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ }
      }
      process.exit(0);
    }, 3000).unref();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  edge.once("exit", () => { if (!stopping) { say("the edge stopped"); stop(); } });
}

main().catch((e: unknown) => {
  process.stderr.write(`npm start failed: ${(e as Error).message}\n`);
  for (const child of children) {
    try { process.kill(-child.pid!, "SIGKILL"); } catch { /* gone */ }
  }
  process.exit(1);
});
