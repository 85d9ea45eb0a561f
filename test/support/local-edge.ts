// A real local edge for end-to-end tests: the Worker on workerd (local D1 + Durable Objects) on a
// free port with its own persistence dir, migrations applied, fresh secrets, development rules.
// Three runtimes behind one interface, chosen by `runtime` or, for every suite at once, by
// TALLY_E2E_EDGE:
// - "miniflare" (default): the Worker bundle, built once per source tree, on Miniflare in this
//   process (miniflare-edge.ts); up in about a second.
// - "wrangler": `wrangler dev`, as `npm start` runs it; 8–14 s to come up on a loaded machine.
// - "core": a self-hosted core (`npm run core`, the production bundle under production rules). A
//   core refuses X-Tally-Now, so suites that inject the clock check `edge.productionRules`
//   (docs/self-hosting.md lists which suites run there).
// The first two keep their state in the same layout: a persistDir from one restarts on the other.
//
//   const edge = await startLocalEdge();
//   const contract = await provisionContract(edge);          // vendor, customer, contract, enrollment
//   … collector init --server edge.url --enroll contract.enrollmentToken …
//   await edge.stop();
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { readMigrations } from "../../scripts/core/build.ts";
import { applyMigrations } from "../../scripts/core/d1-migrations.ts";
import { TEST_CLOCK_OFFSET_MS } from "./test-clock.ts";
import { coreBuild, startCore, type CoreSecrets } from "./core-process.ts";
import { startMiniflareEdge } from "./miniflare-edge.ts";
import { provided } from "./run-provided.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
/** wrangler's own bin, run by this Node: `npx wrangler` spends ~0.8 s (0.5 s of CPU) finding it
 *  first, for every edge a test starts. */
const WRANGLER = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");

export interface LocalEdge {
  /** Base URL, e.g. http://127.0.0.1:43817 (no trailing slash). */
  url: string;
  /** Miniflare or `wrangler dev` (development rules), or a self-hosted core (production rules). */
  runtime: EdgeRuntime;
  /** True on a core: X-Tally-Now and the development aids are refused. */
  productionRules: boolean;
  adminToken: string;
  /** Hex Ed25519 seed the edge signs receipts with. */
  signingKey: string;
  /** The seeds it rotated from (EDGE_SIGNING_KEYS_PREVIOUS), newest first. */
  previousSigningKeys: string[];
  /** Key ids of previous keys declared leaked (EDGE_SIGNING_KEYS_REVOKED). */
  revokedKeyIds: string[];
  /** Persistence dir (D1 + DO state); removed by stop() unless keepState. */
  persistDir: string;
  /** workerd's V8 inspector (Chrome DevTools Protocol) on wrangler; none on the others. */
  inspectorPort?: number;
  /** Everything wrangler printed so far (for failure messages). */
  output(): string;
  /** Stops wrangler (and its workerd) and, unless keepState, removes the persistence dir. */
  stop(opts?: { keepState?: boolean }): Promise<void>;
}

export interface StartOptions {
  /** Reuse a persistence dir (e.g. to restart an edge with its data). */
  persistDir?: string;
  adminToken?: string;
  signingKey?: string;
  /** EDGE_SIGNING_KEYS_PREVIOUS, newest first: restart an edge with `persistDir` to rotate its key. */
  previousSigningKeys?: string[];
  /** EDGE_SIGNING_KEYS_REVOKED: key ids of previous keys that leaked. */
  revokedKeyIds?: string[];
  /** Extra vars (`--var NAME:VALUE` on wrangler; a core takes none). */
  vars?: Record<string, string>;
  /** ms added to the edge's real clock (TALLY_CLOCK_OFFSET_MS); default the test clock's, so an
   *  edge started under TALLY_TEST_NOW runs at that date (test-clock.ts). */
  clockOffsetMs?: number;
  /** Default: TALLY_E2E_EDGE, else "miniflare". */
  runtime?: EdgeRuntime;
}

export type EdgeRuntime = "miniflare" | "wrangler" | "core";
const RUNTIMES: readonly EdgeRuntime[] = ["miniflare", "wrangler", "core"];

function defaultRuntime(): EdgeRuntime {
  const chosen = process.env.TALLY_E2E_EDGE;
  if (!chosen) return "miniflare";
  if (!RUNTIMES.includes(chosen as EdgeRuntime)) throw new Error(`TALLY_E2E_EDGE=${chosen}: expected one of ${RUNTIMES.join(", ")}`);
  return chosen as EdgeRuntime;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

export async function startLocalEdge(options: StartOptions = {}): Promise<LocalEdge> {
  const runtime = options.runtime ?? defaultRuntime();
  if (runtime === "core") return startCoreEdge(options);
  const persistDir = options.persistDir ?? await mkdtemp(join(tmpdir(), "tally-edge-"));
  const adminToken = options.adminToken ?? `adm_${randomBytes(16).toString("hex")}`;
  const signingKey = options.signingKey ?? randomBytes(32).toString("hex");
  const previousSigningKeys = options.previousSigningKeys ?? [];
  const revokedKeyIds = options.revokedKeyIds ?? [];

  // A fresh state dir starts as a copy of the run's migrated one (run-setup.ts) where there is one.
  const template = options.persistDir ? undefined : await provided("edgeTemplate");
  if (template) await cp(template, persistDir, { recursive: true });
  else await migrateEdgeState(persistDir);

  const clockOffsetMs = options.clockOffsetMs ?? TEST_CLOCK_OFFSET_MS;
  const vars = { ...(clockOffsetMs !== 0 ? { TALLY_CLOCK_OFFSET_MS: String(clockOffsetMs) } : {}), ...options.vars };
  const secrets = edgeSecrets(adminToken, signingKey, previousSigningKeys, revokedKeyIds);
  if (runtime === "miniflare") {
    const mf = await startMiniflareEdge({ persistDir, bindings: { ...vars, ...secrets } });
    return {
      url: mf.url, runtime, productionRules: false, adminToken, signingKey, previousSigningKeys, revokedKeyIds, persistDir,
      output: mf.output,
      stop: stopper(() => mf.stop(), persistDir, options.persistDir === undefined),
    };
  }

  // Secrets go in an env file of our own (not the repo's .dev.vars, which `npm start` owns).
  const envFile = join(persistDir, "edge.env");
  await writeFile(envFile, Object.entries(secrets).map(([name, value]) => `${name}=${value}\n`).join(""), { mode: 0o600 });
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    WRANGLER, "dev", "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistDir,
    "--env-file", envFile, "--inspector-port", String(inspectorPort),
    "--show-interactive-dev-session=false", "--log-level", "warn",
  ];
  for (const [name, value] of Object.entries(vars)) args.push("--var", `${name}:${value}`);
  // Own process group, so stop() can end wrangler and the workerd it spawns, and only those.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1", NO_COLOR: "1", CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false" } });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));

  const url = `http://127.0.0.1:${port}`;
  const edge: LocalEdge = {
    url, runtime: "wrangler", productionRules: false, adminToken, signingKey, previousSigningKeys, revokedKeyIds, persistDir, inspectorPort,
    output: () => output,
    stop: stopper(() => killGroup(child, exited), persistDir, options.persistDir === undefined),
  };
  try {
    await waitForHealth(url, exited, () => output);
  } catch (e) {
    await edge.stop();
    throw e;
  }
  return edge;
}

/** Applies the D1 migrations to a local edge's state dir (created if missing), as `wrangler d1
 *  migrations apply DB --local --persist-to` does: the same database file, statements and
 *  `d1_migrations` rows (the core's applier, scripts/core/d1-migrations.ts), through miniflare in
 *  this process. wrangler spent ~15 s of CPU on it (a workerd per migration file); this, ~2 s. */
export async function migrateEdgeState(persistDir: string): Promise<void> {
  // Imported here: most files that start an edge copy the run's migrated state and never need them.
  const [{ convertV4MiniflareOptions, Miniflare }, { unstable_readConfig }] = await Promise.all([import("miniflare"), import("wrangler")]);
  const { d1_databases: [d1], name, compatibility_date } = unstable_readConfig({ config: join(REPO_ROOT, "wrangler.toml") }, { hideWarnings: true });
  const mf = new Miniflare(convertV4MiniflareOptions({
    resourcePersistencePath: join(persistDir, "v3"), cf: false, telemetry: { enabled: false },
    workers: [{ name, modules: true, script: "export default {}", compatibilityDate: compatibility_date, d1Databases: { [d1!.binding]: d1!.database_id! } }],
  } as never));
  try {
    await applyMigrations(await mf.getD1Database(d1!.binding) as never, await readMigrations(REPO_ROOT));
  } finally {
    await mf.dispose();
  }
}

/** A self-hosted core behind the LocalEdge interface (test/support/core-process.ts). */
export async function startCoreEdge(options: StartOptions = {}): Promise<LocalEdge> {
  if (options.vars && Object.keys(options.vars).length > 0) throw new Error("a core runs production rules and takes no vars");
  const persistDir = options.persistDir ?? await mkdtemp(join(tmpdir(), "tally-core-edge-"));
  const adminToken = options.adminToken ?? `adm_${randomBytes(16).toString("hex")}`;
  const signingKey = options.signingKey ?? randomBytes(32).toString("hex");
  const previousSigningKeys = options.previousSigningKeys ?? [];
  const revokedKeyIds = options.revokedKeyIds ?? [];
  const core = await startCore({ data: persistDir, secrets: edgeSecrets(adminToken, signingKey, previousSigningKeys, revokedKeyIds), build: await coreBuild() });
  return {
    url: core.url, runtime: "core", productionRules: true, adminToken, signingKey, previousSigningKeys, revokedKeyIds, persistDir,
    output: core.output,
    stop: stopper(async () => { await core.stop(); }, persistDir, options.persistDir === undefined),
  };
}

/** An edge's secrets: the admin token, the signing key and, when there are any, the keys it rotated
 *  from and the ids of those that leaked (bindings on Miniflare, the env file on wrangler, a core's environment). */
function edgeSecrets(adminToken: string, signingKey: string, previous: string[], revoked: string[]): CoreSecrets {
  return {
    ADMIN_TOKEN: adminToken, EDGE_SIGNING_KEY: signingKey,
    ...(previous.length > 0 ? { EDGE_SIGNING_KEYS_PREVIOUS: previous.join(",") } : {}),
    ...(revoked.length > 0 ? { EDGE_SIGNING_KEYS_REVOKED: revoked.join(",") } : {}),
  };
}

/** A LocalEdge's stop(): ends the runtime once, then removes a state dir it made itself unless asked to keep it. */
function stopper(end: () => Promise<void>, persistDir: string, ownsDir: boolean): LocalEdge["stop"] {
  let stopped = false;
  return async (opts = {}) => {
    if (!stopped) {
      stopped = true;
      await end();
    }
    if (!opts.keepState && ownsDir) await rm(persistDir, { recursive: true, force: true });
  };
}

async function waitForHealth(url: string, exited: Promise<number | null>, output: () => string): Promise<void> {
  let done: number | null | undefined;
  void exited.then((code) => (done = code));
  const deadline = performance.now() + 90_000;
  while (performance.now() < deadline) {
    if (done !== undefined) throw new Error(`wrangler dev exited (${done}) before /health answered:\n${output().slice(-3000)}`);
    try {
      const r = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((ok) => setTimeout(ok, 250));
  }
  throw new Error(`local edge at ${url} did not become healthy within 90 s:\n${output().slice(-3000)}`);
}

async function killGroup(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
  // workerd may outlive the wrangler parent for a moment; make sure the group is gone.
  signal("SIGKILL");
}

// ---- API helpers (DESIGN.md §7) ----

export class EdgeApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, body: unknown, what: string) {
    super(`${what}: HTTP ${status} ${JSON.stringify(body)}`);
    this.status = status;
    this.body = body;
  }
}

export async function edgeRequest<T = unknown>(edge: Pick<LocalEdge, "url">, method: string, path: string, bearer: string | undefined, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const r = await fetch(edge.url + path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  let parsed: unknown = text;
  try { parsed = JSON.parse(text); } catch { /* keep text */ }
  if (!r.ok) throw new EdgeApiError(r.status, parsed, `${method} ${path}`);
  return parsed as T;
}

export async function createVendor(edge: LocalEdge, name = "Test Vendor"): Promise<{ id: string; api_key: string }> {
  return edgeRequest(edge, "POST", "/v1/vendors", edge.adminToken, { name });
}

export async function createCustomer(edge: LocalEdge, vendorKey: string, name = "Test Customer"): Promise<{ id: string }> {
  return edgeRequest(edge, "POST", "/v1/customers", vendorKey, { name });
}

/** A pay-per-use plan metering everything at 1 unit per license-hour (overridable). */
export function payPerUsePlan(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "pay_per_use", currency: "USD", unit_name: "token", period: "month",
    rates: { "*": "1" }, rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 },
    price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.10", flat_fee: "0" }] },
    fixed_fee: "0", included_units: "0", minimum_commitment: "0",
    overage: { policy: "allow", limit_units: "0" },
    ...overrides,
  };
}

export async function createContract(edge: LocalEdge, vendorKey: string, body: { customer_id: string; plan: unknown; start: string; timezone: string; [k: string]: unknown }): Promise<{ id: string }> {
  return edgeRequest(edge, "POST", "/v1/contracts", vendorKey, body);
}

export async function createEnrollment(edge: LocalEdge, vendorKey: string, contractId: string): Promise<{ enrollment_token: string; expires_at: string }> {
  return edgeRequest(edge, "POST", `/v1/contracts/${contractId}/enrollments`, vendorKey, {});
}

export async function getBalance<T = Record<string, unknown>>(edge: LocalEdge, vendorKey: string, contractId: string): Promise<T> {
  return edgeRequest(edge, "GET", `/v1/contracts/${contractId}/balance`, vendorKey);
}

export interface ProvisionedContract { vendorKey: string; vendorId: string; customerId: string; contractId: string; enrollmentToken: string }

/** Vendor + customer + contract (+ one enrollment token) in one call. The default start,
 *  2020-01-01, makes periods calendar months: a test that reads the open period's usage starts the
 *  contract on its usage's first day instead (`start: utcDate(from)`, test-clock.ts), or the
 *  first hours of a month find last month's usage missing. */
export async function provisionContract(edge: LocalEdge, opts: { plan?: unknown; start?: string; timezone?: string } = {}): Promise<ProvisionedContract> {
  const vendor = await createVendor(edge);
  const customer = await createCustomer(edge, vendor.api_key);
  const contract = await createContract(edge, vendor.api_key, {
    customer_id: customer.id, plan: opts.plan ?? payPerUsePlan(), start: opts.start ?? "2020-01-01", timezone: opts.timezone ?? "UTC",
  });
  const enrollment = await createEnrollment(edge, vendor.api_key, contract.id);
  return { vendorKey: vendor.api_key, vendorId: vendor.id, customerId: customer.id, contractId: contract.id, enrollmentToken: enrollment.enrollment_token };
}
