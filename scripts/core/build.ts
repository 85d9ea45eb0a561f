// A core build: the Worker bundle exactly as `wrangler deploy --env production` uploads it
// (`wrangler deploy --dry-run --outdir`), with everything a self-hosted core needs to run it
// without wrangler: the bindings of wrangler.toml's production env as miniflare options, the
// console's static files, and the D1 migrations split into statements. Builds are cached in
// dist/core/<source hash>/, so tests and restarts share one build per source tree.
//
//   dist/core/<hash>/core-build.json   manifest (CoreBuild below)
//   dist/core/<hash>/worker/index.js   the bundle (+ index.js.map)
//   dist/core/<hash>/assets/           the static assets directory, copied
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { acquireLock, LockHeldError, type HeldLock } from "./lock.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const BUILD_FORMAT = "tally-core-build/v1";
const MANIFEST = "core-build.json";

export interface BuildMigration { name: string; sha256: string; statements: string[] }

/** The JSON-safe part of miniflare's worker options for the production env (see runtime.ts). */
export interface BuildWorker {
  name: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Plain `[vars]` of the production env (never secrets). */
  vars: Record<string, string>;
  d1Databases: Record<string, { id: string }>;
  durableObjects: Record<string, { className: string; useSQLite?: boolean }>;
  modulesRules: Array<{ type: string; include: string[]; fallthrough?: boolean }>;
  /** Absent when the tree has no `[assets]`; `directory` is relative to the build dir. */
  assets?: { directory: string; run_worker_first?: boolean | string[]; routerConfig?: unknown; assetConfig?: unknown };
}

export interface CoreBuild {
  format: typeof BUILD_FORMAT;
  source_hash: string;
  package_version: string;
  /** `git describe`-ish commit of the tree, when it was a git checkout. */
  commit?: string;
  built_at: string;
  worker: BuildWorker;
  migrations: BuildMigration[];
  /** Absolute path of the build dir (not stored: filled in by readBuild). */
  dir: string;
}

/** Files whose content changes the bundle, its bindings, its assets or its migrations. */
function sourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(path);
    }
  };
  for (const dir of ["worker", "shared", "drizzle"]) walk(join(root, dir));
  for (const file of ["wrangler.toml", "package-lock.json", "package.json", "tsconfig.json"]) if (existsSync(join(root, file))) out.push(join(root, file));
  return out.sort();
}

export function sourceHash(root = REPO_ROOT): string {
  const hash = createHash("sha256");
  for (const file of sourceFiles(root)) {
    hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  return hash.digest("hex").slice(0, 24);
}

export function readBuild(dir: string): CoreBuild {
  const file = join(dir, MANIFEST);
  if (!existsSync(file)) throw new Error(`${dir} is not a core build (no ${MANIFEST})`);
  const build = JSON.parse(readFileSync(file, "utf8")) as CoreBuild;
  if (build.format !== BUILD_FORMAT) throw new Error(`${file}: unknown format ${JSON.stringify(build.format)}`);
  return { ...build, dir: resolve(dir) };
}

export interface BuildOptions {
  /** The source tree (default: this checkout). */
  root?: string;
  /** Where cached builds live (default: <root>/dist/core). */
  cacheDir?: string;
  /** Progress lines (default: stderr). */
  say?: (line: string) => void;
}

/** Returns the cached build of the tree, building it first when the cache has none. */
export async function ensureBuild(options: BuildOptions = {}): Promise<CoreBuild> {
  const root = resolve(options.root ?? REPO_ROOT);
  const cacheDir = resolve(options.cacheDir ?? join(root, "dist/core"));
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const hash = sourceHash(root);
  const dir = join(cacheDir, hash);
  if (existsSync(join(dir, MANIFEST))) return readBuild(dir);

  mkdirSync(cacheDir, { recursive: true });
  // One builder at a time per cache (parallel test files): the others wait for its build.
  const lockPath = join(cacheDir, ".build.lock");
  let lock: HeldLock | undefined;
  for (let waited = 0; !lock; waited += 250) {
    if (existsSync(join(dir, MANIFEST))) return readBuild(dir);
    try {
      lock = acquireLock(lockPath, "build");
    } catch (error) {
      if (!(error instanceof LockHeldError) || waited > 300_000) throw error;
      await new Promise((ok) => setTimeout(ok, 250));
    }
  }
  try {
    if (existsSync(join(dir, MANIFEST))) return readBuild(dir);
    await buildInto(root, dir, cacheDir, hash, say);
    pruneCache(cacheDir, dir);
  } finally {
    lock.release();
  }
  return readBuild(dir);
}

/** Builds kept in the cache: the newest few (a running core keeps using its own dir). */
const KEEP_BUILDS = 6;

function pruneCache(cacheDir: string, keep: string): void {
  const builds = readdirSync(cacheDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^[0-9a-f]{24}$/.test(e.name) && join(cacheDir, e.name) !== keep)
    .map((e) => ({ path: join(cacheDir, e.name), built: statSync(join(cacheDir, e.name)).mtimeMs }))
    .sort((a, b) => b.built - a.built);
  for (const old of builds.slice(KEEP_BUILDS - 1)) rmSync(old.path, { recursive: true, force: true });
}

async function buildInto(root: string, dir: string, cacheDir: string, hash: string, say: (line: string) => void): Promise<void> {
  // Build beside the final dir and rename: concurrent builders (parallel test files) never see a
  // half-written build, and the loser of the rename race just uses the winner's.
  const tmp = join(cacheDir, `.${hash}.${process.pid}.${Date.now()}`);
  say(`core build: bundling ${root} (source ${hash}) …`);
  try {
    await wrangler(root, ["deploy", "--dry-run", "--env", "production", "--outdir", join(tmp, "worker")]);
    const worker = await workerOptions(root, tmp);
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: string };
    const build: Omit<CoreBuild, "dir"> = {
      format: BUILD_FORMAT, source_hash: hash, package_version: pkg.version ?? "0.0.0",
      ...(await gitCommit(root)), built_at: new Date().toISOString(), worker, migrations: await readMigrations(root),
    };
    writeFileSync(join(tmp, MANIFEST), JSON.stringify(build, null, 2) + "\n");
    try {
      renameSync(tmp, dir);
    } catch (e) {
      if (!existsSync(join(dir, MANIFEST))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  say(`core build: ${dir}`);
}

/** wrangler.toml's production env as miniflare sees it, reduced to what the core passes on. */
async function workerOptions(root: string, out: string): Promise<BuildWorker> {
  const { unstable_getMiniflareWorkerOptions, unstable_readConfig } = await import("wrangler");
  const config = unstable_readConfig({ config: join(root, "wrangler.toml"), env: "production" }, { hideWarnings: true });
  const o = unstable_getMiniflareWorkerOptions(config, "production").workerOptions as {
    compatibilityDate?: string; compatibilityFlags?: string[];
    d1Databases?: Record<string, string | { id: string }>;
    durableObjects?: Record<string, string | { className: string; useSQLite?: boolean }>;
    modulesRules?: Array<{ type: string; include: string[]; fallthrough?: boolean }>;
    assets?: { directory: string; [key: string]: unknown };
  };
  // getMiniflareWorkerOptions also merges a local .dev.vars into `bindings`: keep only the vars the
  // config declares. The core injects the secrets itself, from its own environment.
  const vars = Object.entries((config.vars ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === "string");
  const worker: BuildWorker = {
    name: String(config.topLevelName ?? config.name ?? "worker"),
    compatibilityDate: o.compatibilityDate ?? "",
    compatibilityFlags: o.compatibilityFlags ?? [],
    vars: Object.fromEntries(vars) as Record<string, string>,
    d1Databases: Object.fromEntries(Object.entries(o.d1Databases ?? {})
      .map(([binding, db]) => [binding, { id: typeof db === "string" ? db : db.id }])),
    durableObjects: Object.fromEntries(Object.entries(o.durableObjects ?? {})
      .map(([binding, d]) => [binding, typeof d === "string" ? { className: d } : { className: d.className, ...(d.useSQLite ? { useSQLite: true } : {}) }])),
    modulesRules: (o.modulesRules ?? []).map((r) => ({ type: r.type, include: r.include, ...(r.fallthrough ? { fallthrough: true } : {}) })),
  };
  if (o.assets) {
    cpSync(o.assets.directory, join(out, "assets"), { recursive: true });
    const { directory: _absolute, ...rest } = o.assets;
    worker.assets = { directory: "assets", ...rest };
  }
  return worker;
}

/** drizzle/*.sql in order, split into statements as `wrangler d1 migrations apply` splits them. */
export async function readMigrations(root: string): Promise<BuildMigration[]> {
  const { unstable_splitSqlQuery } = await import("wrangler");
  const dir = join(root, "drizzle");
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith(".sql") && statSync(join(dir, f)).isFile()).sort().map((name) => {
    const text = readFileSync(join(dir, name), "utf8");
    return { name, sha256: createHash("sha256").update(text).digest("hex"), statements: unstable_splitSqlQuery(text) };
  });
}

async function gitCommit(root: string): Promise<{ commit?: string }> {
  try {
    const commit = (await run("git", ["rev-parse", "--short=12", "HEAD"], root)).trim();
    return /^[0-9a-f]{12}$/.test(commit) ? { commit } : {};
  } catch {
    return {};
  }
}

function wrangler(root: string, args: string[]): Promise<string> {
  const bin = join(REPO_ROOT, "node_modules/.bin/wrangler");
  return run(bin, args, root, { CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", CI: "1", NO_COLOR: "1" });
}

function run(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}): Promise<string> {
  return new Promise((ok, fail) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", fail);
    child.once("exit", (code) => (code === 0 ? ok(out) : fail(new Error(`${cmd} ${args.join(" ")} exited ${code}:\n${out.slice(-3000)}`))));
  });
}
