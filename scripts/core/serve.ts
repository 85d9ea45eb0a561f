// `core --data DIR [--host H] [--port P]`: serves a core build on a data dir until SIGTERM or
// SIGINT, then drains the requests in flight and exits 0. Startup order: secrets, a probe of the port,
// lock, build, runtime, D1 migrations, then the port opens — so a client never reaches a half-migrated edge.
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import type { CoreBuild } from "./build.ts";
import { startControl, socketPath, type ControlServer } from "./control.ts";
import type { CoreLog } from "./core-log.ts";
import { applyMigrations, MigrationError } from "./d1-migrations.ts";
import { dataDir, noteBuild } from "./data-dir.ts";
import { startFront, type Front } from "./front.ts";
import { acquireLock, childRuntime, LockHeldError, type HeldLock } from "./lock.ts";
import type { Runtime, Secrets } from "./runtime.ts";
import { CoreExit } from "./exit.ts";
import { parseEdgeKeys } from "../../worker/auth/edge-key.ts";

export interface ServeOptions {
  data: string;
  host: string;
  port: number;
  publicUrl?: string;
  /** How long SIGTERM waits for requests in flight. */
  drainMs: number;
  build: () => Promise<CoreBuild>;
  log: CoreLog;
  env: NodeJS.ProcessEnv;
}

/** ADMIN_TOKEN, EDGE_SIGNING_KEY and the optional EDGE_SIGNING_KEYS_PREVIOUS and _REVOKED from the environment,
 *  checked before anything starts (the worker checks the same on every request: auth/edge-key.ts). */
export function secretsFrom(env: NodeJS.ProcessEnv): Secrets {
  const problems: string[] = [];
  const admin = env.ADMIN_TOKEN ?? "";
  const key = env.EDGE_SIGNING_KEY ?? "";
  if (admin === "") problems.push("ADMIN_TOKEN is not set (the operator's bearer token for POST /v1/vendors and /v1/admin/*)");
  else if (admin.length < 16) problems.push("ADMIN_TOKEN is shorter than 16 characters");
  if (key === "") problems.push("EDGE_SIGNING_KEY is not set (a hex Ed25519 seed, 64 hex digits: `openssl rand -hex 32`)");
  else if (!/^[0-9a-fA-F]{64}$/.test(key)) problems.push("EDGE_SIGNING_KEY must be 64 hex digits (a 32-byte Ed25519 seed)");
  const previous = env.EDGE_SIGNING_KEYS_PREVIOUS ?? "";
  const revoked = env.EDGE_SIGNING_KEYS_REVOKED ?? "";
  if (problems.length === 0) {
    const keys = parseEdgeKeys(key.toLowerCase(), previous, revoked);
    if ("problem" in keys) problems.push(keys.problem);
  }
  if (problems.length > 0) throw new CoreExit(2, `refusing to start: ${problems.join("; ")}`);
  return { ADMIN_TOKEN: admin, EDGE_SIGNING_KEY: key.toLowerCase(), ...(previous.trim() !== "" ? { EDGE_SIGNING_KEYS_PREVIOUS: previous } : {}), ...(revoked.trim() !== "" ? { EDGE_SIGNING_KEYS_REVOKED: revoked } : {}) };
}

export async function serve(options: ServeOptions): Promise<number> {
  const { log } = options;
  const secrets = secretsFrom(options.env);
  await portFree(options.host, options.port);
  const data = dataDir(options.data);
  const instance = randomUUID();
  // A core whose lock is gone or someone else's (another host took it over as stale: this host was
  // suspended past the lock's staleness, say) must not write the databases once more: it stops at once.
  let lockLost!: (message: string) => void;
  const lost = new Promise<{ lost: string }>((ok) => (lockLost = (message) => ok({ lost: message })));
  const lock: HeldLock = acquireCoreLock(data.root, data.lock, log, lockLost);
  let runtime: Runtime | undefined;
  let front: Front | undefined;
  let control: ControlServer | undefined;
  try {
    const build = await options.build();
    noteBuild(data, build);
    const { startRuntime } = await import("./runtime.ts");
    runtime = await startRuntime({ build, data, secrets, log, ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}) });
    // Recorded so that the next core can stop this workerd should this process die by SIGKILL
    // (no exit hook runs then, and workerd does not notice its parent is gone).
    const child = childRuntime();
    if (child) lock.update(child);
    // miniflare's exit hook answers SIGTERM/SIGINT by killing workerd and exiting at once, which
    // would cut the requests in flight: the core owns these signals (its `exit` hook, which kills
    // workerd should Node die some other way, stays).
    for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.removeAllListeners(sig);
    const stopSignal = new Promise<NodeJS.Signals>((ok) => {
      process.once("SIGTERM", () => ok("SIGTERM"));
      process.once("SIGINT", () => ok("SIGINT"));
    });
    process.on("SIGHUP", () => log.write({ event: "sighup_ignored" }));
    const binding = Object.keys(build.worker.d1Databases)[0];
    const migrated = binding ? await applyMigrations(await runtime.mf.getD1Database(binding), build.migrations) : { applied: [], known: 0 };
    front = await startFront({ host: options.host, port: options.port, upstream: runtime.url, log });
    const socket = socketPath(data.root);
    const buildInfo = { source_hash: build.source_hash, package_version: build.package_version, ...(build.commit ? { commit: build.commit } : {}) };
    control = await startControl(socket, front, () => ({ pid: process.pid, url: front!.url, build: buildInfo, instance }), log);
    lock.update({ socket, url: front.url });
    log.write({ event: "started", url: front.url, data: data.root, pid: process.pid, build: buildInfo, migrations_applied: migrated.applied, ...(options.publicUrl ? { public_url: options.publicUrl } : {}) });

    const stop = await Promise.race([stopSignal.then((signal) => ({ signal })), lost]);
    if ("lost" in stop) {
      log.write({ event: "lock_lost", message: stop.lost, in_flight: front.inFlight() });
      throw new CoreExit(1, `stopped at once, requests in flight cut: ${stop.lost}`);
    }
    const signal = stop.signal;
    log.write({ event: "stopping", signal, in_flight: front.inFlight() });
    const drained = await front.drain(options.drainMs);
    if (!drained) log.write({ event: "drain_timeout", drain_ms: options.drainMs, message: "requests still in flight were cut; their clients retry" });
    return 0;
  } catch (error) {
    if (error instanceof CoreExit) throw error;
    if (error instanceof MigrationError) throw new CoreExit(2, `refusing to start: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") throw new CoreExit(2, `refusing to start: ${options.host}:${options.port} is already in use`);
    throw error;
  } finally {
    await control?.close().catch(() => undefined);
    await runtime?.dispose().catch(() => undefined);
    lock.release();
    log.write({ event: "stopped", pid: process.pid });
  }
}

/** `onLost`: the lock is gone or someone else's (its heartbeat found so). */
function acquireCoreLock(root: string, path: string, log: CoreLog, onLost: (message: string) => void): HeldLock {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  try {
    return acquireLock(path, "core", {}, {
      onHeartbeatFailure: (message, lost) => {
        log.write({ event: "lock_heartbeat_failed", lost, message });
        if (lost) onLost(message);
      },
    });
  } catch (error) {
    if (error instanceof LockHeldError) {
      throw new CoreExit(2, `refusing to start: another process uses ${root} (${error.message})`);
    }
    throw error;
  }
}

/**
 * Refuses a port another process holds before the data dir is made, locked or migrated (found only
 * when the front opened, the start failed after changing the dir). A probe, let go at once: the port
 * opens for real last, so that no client reaches a half-migrated edge. Port 0 (any) is always free.
 */
async function portFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((ok, fail) => {
    const probe = createServer();
    probe.once("error", fail);
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => ok()));
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "EADDRINUSE") throw new CoreExit(2, `refusing to start: ${host}:${port} is already in use`);
    if (error.code === "EACCES") throw new CoreExit(2, `refusing to start: no permission to listen on ${host}:${port} (a port below 1024 needs privileges: serve on a high port behind the proxy)`);
    throw error;
  });
}
