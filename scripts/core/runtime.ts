// The Worker of a core build on workerd, through the miniflare API: the production env's
// bindings, D1 and every Durable Object persisted under the data dir (data-dir.ts), the static
// assets, the secrets from the environment, `TALLY_ENV=production` whatever the build says.
// workerd listens on a loopback port only; the outside world reaches it through front.ts.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { Log, LogLevel, Miniflare, convertV4MiniflareOptions } from "miniflare";
import type { CoreBuild } from "./build.ts";
import type { DataDir } from "./data-dir.ts";
import type { CoreLog } from "./core-log.ts";

export interface Secrets { ADMIN_TOKEN: string; EDGE_SIGNING_KEY: string; EDGE_SIGNING_KEYS_PREVIOUS?: string; EDGE_SIGNING_KEYS_REVOKED?: string }

export interface RuntimeOptions {
  build: CoreBuild;
  data: DataDir;
  secrets: Secrets;
  log: CoreLog;
  /** The URL clients use (behind a TLS proxy: https://tally.example.com): the Worker sees
   * request URLs on it, so status links, cookies' Secure flag and the console's same-origin
   * check match what browsers send. */
  publicUrl?: string;
}

export interface Runtime {
  mf: Miniflare;
  /** Loopback URL of workerd. */
  url: URL;
  dispose(): Promise<void>;
}

/** Routes miniflare's own messages into the core's JSON log. */
class JsonLog extends Log {
  readonly #log: CoreLog;
  constructor(log: CoreLog) {
    super(LogLevel.WARN);
    this.#log = log;
  }
  override log(message: string): void {
    this.#log.write({ event: "runtime", message: message.replace(/\x1b\[[0-9;]*m/g, "").trim() });
  }
}

/** The bundle's modules: index.js first, then whatever else wrangler emitted that a rule types
 * (text, data, wasm); source maps and wrangler's README stay out. */
export function bundleModules(workerDir: string, rules: Array<{ type: string; include: string[] }>): Array<{ type: string; path: string }> {
  const modules = [{ type: "ESModule", path: join(workerDir, "index.js") }];
  for (const file of readdirSync(workerDir, { recursive: true, encoding: "utf8" }).sort()) {
    if (file === "index.js") continue;
    const rule = rules.find((r) => r.include.some((glob) => file.endsWith(glob.replace(/^\*\*\/\*/, "").replace(/\?module$/, ""))));
    if (rule) modules.push({ type: rule.type, path: join(workerDir, file) });
  }
  return modules;
}

/** Miniflare's options for the build's Worker with these bindings (vars and secrets). */
export function buildWorker(build: CoreBuild, bindings: Record<string, string>) {
  const w = build.worker;
  const workerDir = join(build.dir, "worker");
  return {
    name: w.name,
    modules: bundleModules(workerDir, w.modulesRules) as never,
    modulesRoot: workerDir,
    compatibilityDate: w.compatibilityDate,
    compatibilityFlags: w.compatibilityFlags,
    bindings,
    d1Databases: Object.fromEntries(Object.entries(w.d1Databases).map(([binding, db]) => [binding, db.id])),
    durableObjects: w.durableObjects,
    ...(w.assets ? { assets: { ...(w.assets as object), directory: join(build.dir, w.assets.directory) } as never } : {}),
  };
}

export async function startRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { build, data, secrets, log } = options;
  const w = build.worker;
  const mf = new Miniflare(convertV4MiniflareOptions({
    host: "127.0.0.1",
    port: 0,
    resourcePersistencePath: data.storage,
    resourceTmpPath: join(data.root, "tmp"),
    ...(options.publicUrl ? { upstream: options.publicUrl } : {}),
    // Offline: no download of a Request.cf object, no telemetry.
    cf: false,
    telemetry: { enabled: false },
    logRequests: false,
    log: new JsonLog(log),
    handleStructuredLogs: ({ level, message }) => log.write({ event: "worker_log", level, message }),
    workers: [buildWorker(build, { ...w.vars, TALLY_ENV: "production", ADMIN_TOKEN: secrets.ADMIN_TOKEN, EDGE_SIGNING_KEY: secrets.EDGE_SIGNING_KEY, ...(secrets.EDGE_SIGNING_KEYS_PREVIOUS ? { EDGE_SIGNING_KEYS_PREVIOUS: secrets.EDGE_SIGNING_KEYS_PREVIOUS } : {}), ...(secrets.EDGE_SIGNING_KEYS_REVOKED ? { EDGE_SIGNING_KEYS_REVOKED: secrets.EDGE_SIGNING_KEYS_REVOKED } : {}) })],
  }));
  const url = await mf.ready;
  return { mf, url, dispose: () => mf.dispose() };
}
