// The collector for the long haul, against one real local edge (wrangler dev):
// - first start of `run` on a 300,000-line log: SIGTERM in the middle of the backlog exits 0 with
//   the read position committed; the restart reads the rest; every license-second reaches the edge
//   exactly once; /metrics and `status` show the source;
// - months offline on an injected clock (busy license server, the link down), then the link back:
//   the backlog syncs and the bill is exact;
// - a collector the vendor revokes stops syncing (flag in status and metrics) and stops knocking;
// - sync through a real HTTP proxy: absolute-form to an http:// edge, CONNECT to an https:// one
//   whose CA comes from NODE_EXTRA_CA_CERTS; NO_PROXY honoured.
// SOAK=1: the offline run is 120 days with 100 licenses in use (≈ 290,000 records to sync).
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readDaemonStatus } from "../../collector/daemon/daemon-status.ts";
import { checkRunConfig } from "../../collector/daemon/run-config.ts";
import { SiteDaemon } from "../../collector/daemon/site-daemon.ts";
import { openSite } from "../../collector/site.ts";
import { statePaths } from "../../collector/state/state-dir.ts";
import { EdgeClient } from "../../collector/sync/edge-client.ts";
import { writeBacklogLog } from "../support/backlog-log.ts";
import { BusyLicenseServer } from "../support/busy-license-server.ts";
import { collectorBundle, runCollector } from "../support/collector-process.ts";
import { startEdgeGate } from "../support/edge-gate.ts";
import { startHttpProxy } from "../support/http-proxy.ts";
import { edgeRequest, freePort, payPerUsePlan, provisionContract, startLocalEdge, type LocalEdge, type ProvisionedContract } from "../support/local-edge.ts";
import { makeCertificate, startTlsFront } from "../support/tls-front.ts";

const SOAK = process.env.SOAK === "1";
const DAY = 86_400_000;

let edge: LocalEdge;
let root: string;
let script: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-long-haul-"));
  [edge, script] = await Promise.all([startLocalEdge(), collectorBundle()]);
}, 180_000);
afterAll(async () => {
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const collector = (args: string[], state: string, env: NodeJS.ProcessEnv = {}) => runCollector([...args, "--state", state, "--json"], { script, env });

async function enrolledSite(name: string, server = edge.url, env: NodeJS.ProcessEnv = {}, plan?: unknown): Promise<{ state: string; contract: ProvisionedContract }> {
  const contract = await provisionContract(edge, { start: "2010-01-01", timezone: "UTC", ...(plan ? { plan } : {}) });
  const state = join(root, name);
  const init = await collector(["init", "--server", server, "--enroll", contract.enrollmentToken, "--site", name], state, env);
  expect(init.status, init.stderr).toBe(0);
  return { state, contract };
}

/** License-seconds per feature the edge bills, summed over the months of [from, to]. */
async function billed(contract: ProvisionedContract, from: number, to: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (let d = new Date(Date.UTC(new Date(from).getUTCFullYear(), new Date(from).getUTCMonth(), 1)); d.getTime() <= to; d = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1))) {
    const balance = await fetch(`${edge.url}/v1/contracts/${contract.contractId}/balance`, {
      headers: { authorization: `Bearer ${contract.vendorKey}`, "x-tally-now": String(d.getTime() + DAY) },
    }).then((r) => r.json() as Promise<{ usage: { by_feature: Array<{ feature: string; license_seconds: number }> } }>);
    for (const f of balance.usage.by_feature) out[f.feature] = (out[f.feature] ?? 0) + f.license_seconds;
  }
  return out;
}

const sorted = (m: Map<string, number> | Record<string, number>) => Object.fromEntries(Object.entries(m instanceof Map ? Object.fromEntries(m) : m).sort());

describe("first start on a big backlog", () => {
  it("run on a 300,000-line log: SIGTERM mid-backlog exits 0, the restart goes on, every license-second reaches the edge once", async () => {
    const { state, contract } = await enrolledSite("backlog");
    const file = join(root, "lmgrd-300k.log");
    const log = await writeBacklogLog(file, { lines: 300_000 });
    const metricsPort = await freePort();
    const config = join(root, "backlog.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC" }], metrics_listen: `127.0.0.1:${metricsPort}` }));

    // SIGTERM as soon as the daemon runs: it is in its first round, reading the backlog.
    const first = await runDaemon(state, config, (stderr) => /running: 1 sources/.test(stderr));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/stopped/);
    const stopped = (await readDaemonStatus(state))!;
    expect(stopped.running).toBe(false);
    const partial = stopped.sources[0]!.progress!;
    expect(partial.offset).toBeGreaterThan(0);
    expect(partial.offset).toBeLessThan(log.bytes);

    // The restart goes on from the committed position; stop it once everything is receipted.
    let metrics = "";
    const second = await runDaemon(state, config, () => false, async () => {
      const s = await readDaemonStatus(state);
      if (!(s?.sources[0]?.progress?.caught_up && s.log.pending === 0 && s.log.last_seq > 0 && s.sync.online)) return false;
      metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      return true;
    });
    expect(second.code, second.stderr).toBe(0);
    expect(metrics).toMatch(/^tally_collector_source_up\{source="lmgrd"\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^tally_collector_source_lines_total\\{source="lmgrd"\\} ${log.lines}$`, "m"));
    expect(metrics).toMatch(/^tally_collector_source_unknown_lines_total\{source="lmgrd"\} 0$/m);
    expect(metrics).toMatch(/^tally_collector_records_pending 0$/m);
    expect(metrics).toMatch(/^tally_collector_last_receipt_timestamp_seconds \d{10}/m);
    expect(metrics).toMatch(/^tally_collector_records_appended_total \d+$/m);

    expect(sorted(await billed(contract, log.first, log.last))).toEqual(sorted(log.truth));
    const status = await collector(["status"], state);
    expect(status.json).toMatchObject({ pending: 0, sources: [{ source: "lmgrd", up: true, totals: { lines: log.lines }, progress: { caught_up: true, percent: 100 } }] });
    expect((await collector(["verify"], state)).status).toBe(0);
  }, 600_000);
});

describe("months offline", () => {
  const days = SOAK ? 120 : 30;
  const slots = SOAK ? 100 : 8;
  it(`${days} days with the link down and ${slots} licenses in use, then the link back: the backlog syncs, the bill is exact`, async () => {
    const gate = await startEdgeGate(edge.url);
    const { state, contract } = await enrolledSite("offline", gate.url);
    const file = join(root, "busy.log");
    const start = Date.UTC(2025, 0, 6);
    const lic = new BusyLicenseServer({ file, slots, seed: 11, startAt: start });
    let now = start;
    const clock = () => now;
    const site = await openSite(statePaths(state), { clock });
    const config = checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: 900 }], heartbeat_s: 3600 });
    const daemon = await SiteDaemon.start(site, config, new EdgeClient(gate.url, { timeoutMs: 30_000 }), {
      backoff: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, random: () => 0.5, clock, log: () => undefined, wait: async () => undefined,
    });
    try {
      gate.shut();
      const end = start + days * DAY;
      while (now < end) {
        lic.advance(now);
        now = Math.max(now + 1000, Math.min(await daemon.round(), end));
      }
      lic.shutdown(end);
      await daemon.round();
      const offline = daemon.status()!;
      expect(offline.sync.online).toBe(false);
      expect(offline.log.acked_seq).toBe(0);
      expect(offline.log.pending).toBeGreaterThanOrEqual(lic.hourlyIntervals);
      expect(offline.log.pending).toBeLessThan(lic.hourlyIntervals + days * 25 + 10);

      gate.open = true;
      const t0 = performance.now();
      for (let i = 0; i < 20 && daemon.status()!.log.pending > 0; i++) {
        now += 60_000;
        await daemon.round();
      }
      const seconds = (performance.now() - t0) / 1000;
      const synced = daemon.status()!;
      console.log(`offline ${days} days, ${slots} licenses: ${offline.log.pending} records pending; caught up in ${seconds.toFixed(1)} s (${Math.round(offline.log.pending / seconds)} records/s)`);
      expect(synced.log.pending).toBe(0);
      expect(synced.sync.online).toBe(true);
      expect(sorted(await billed(contract, start, end))).toEqual(sorted(lic.truth));
    } finally {
      await daemon.close();
      await site.close();
      await gate.stop();
    }
  }, SOAK ? 3_600_000 : 600_000);
});

describe("scope", () => {
  it("the plan's scope, learnt at enrollment, keeps out-of-scope usage at the site: the edge bills only what is in scope", async () => {
    const { state, contract } = await enrolledSite("scoped", edge.url, {}, payPerUsePlan({ scope: [{ daemon: "MLM", features: ["MATLAB", "Compiler"] }] }));
    expect(JSON.parse(await readFile(join(state, "identity.json"), "utf8")).scope).toEqual([{ daemon: "MLM", features: ["MATLAB", "Compiler"] }]);
    const file = join(root, "scoped.log");
    const start = Date.UTC(2025, 3, 7);
    const lic = new BusyLicenseServer({ file, slots: 10, seed: 17, startAt: start, minHoldS: 600, maxHoldS: 7200 });
    let now = start;
    const site = await openSite(statePaths(state), { clock: () => now });
    const daemon = await SiteDaemon.start(site, checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: 300 }], sync_s: 3600 }), new EdgeClient(edge.url), {
      backoff: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, random: () => 0.5, clock: () => now, log: () => undefined, wait: async () => undefined,
    });
    try {
      const end = start + DAY;
      while (now < end) {
        lic.advance(now);
        now = Math.max(now + 1000, Math.min(await daemon.round(), end));
      }
      lic.shutdown(end);
      for (let i = 0; i < 5 && (i === 0 || daemon.status()!.log.pending > 0); i++) {
        now += 3_600_000;
        await daemon.round();
      }
      const status = daemon.status()!;
      expect(status.log.pending).toBe(0);
      expect(status.sources[0]!.totals.out_of_scope).toBeGreaterThan(0);
      expect(status.scope).toEqual([{ daemon: "MLM", features: ["MATLAB", "Compiler"] }]);
    } finally {
      await daemon.close();
      await site.close();
    }
    const inScope = Object.fromEntries([...lic.truth].filter(([f]) => f === "MATLAB" || f === "Compiler"));
    expect(Object.keys(inScope).length).toBeLessThan(lic.truth.size);
    expect(sorted(await billed(contract, start, start + DAY))).toEqual(sorted(inScope));
    // Had the out-of-scope usage been sent, the edge would have quarantined it: nothing was.
    const balance = await edgeRequest<{ quarantined_records: number }>(edge, "GET", `/v1/contracts/${contract.contractId}/balance`, contract.vendorKey);
    expect(balance.quarantined_records).toBe(0);
  }, 300_000);
});

describe("revoked", () => {
  it("a revoked collector stops syncing with a flag in status and metrics, keeps collecting, and stops knocking", async () => {
    const gate = await startEdgeGate(edge.url);
    const { state, contract } = await enrolledSite("revoked", gate.url);
    const file = join(root, "revoked.log");
    const start = Date.UTC(2025, 5, 2);
    const lic = new BusyLicenseServer({ file, slots: 3, seed: 5, startAt: start });
    let now = start;
    const site = await openSite(statePaths(state), { clock: () => now });
    const metricsPort = await freePort();
    const config = checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: 600 }], sync_s: 1800, metrics_listen: `127.0.0.1:${metricsPort}` });
    const daemon = await SiteDaemon.start(site, config, new EdgeClient(gate.url), {
      backoff: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, random: () => 0.5, clock: () => now, log: () => undefined, wait: async () => undefined,
    });
    const rounds = async (hours: number) => {
      const end = now + hours * 3_600_000;
      while (now < end) {
        lic.advance(now);
        now = Math.max(now + 1000, Math.min(await daemon.round(), end));
      }
    };
    try {
      await rounds(12);
      expect(daemon.status()!.log.acked_seq).toBeGreaterThan(0);
      const identity = JSON.parse(await readFile(join(state, "identity.json"), "utf8")) as { collector_id: string };
      await edgeRequest(edge, "POST", `/v1/collectors/${identity.collector_id}/revoke`, contract.vendorKey, {});
      await rounds(2);
      const status = daemon.status()!;
      expect(status.sync.stopped).toMatchObject({ code: "revoked" });
      const batches = gate.count("POST /v1/collectors/:id/batches");
      const pending = status.log.pending;
      await rounds(48);
      expect(gate.count("POST /v1/collectors/:id/batches")).toBe(batches);
      expect(daemon.status()!.log.pending).toBeGreaterThan(pending); // collecting goes on
      const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/^tally_collector_sync_stopped\{reason="revoked"\} 1$/m);
      expect(JSON.parse(await readFile(join(state, "flags.json"), "utf8")).flags).toMatchObject([{ code: "revoked" }]);
    } finally {
      await daemon.close();
      await site.close();
      await gate.stop();
    }
    const cli = await runCollector(["status", "--state", state], { script });
    expect(cli.stdout).toMatch(/sync: STOPPED \(revoked\)/);
    expect(cli.stdout).toMatch(/FLAG revoked/);
  }, 300_000);
});

describe("proxies", () => {
  it("syncs through a real HTTP proxy: absolute-form to an http:// edge, CONNECT to an https:// one (NODE_EXTRA_CA_CERTS), NO_PROXY honoured", async () => {
    const proxy = await startHttpProxy();
    try {
      const file = join(root, "proxy.log");
      const more = join(root, "proxy-more.log");
      await writeBacklogLog(file, { lines: 3000 });
      await writeBacklogLog(more, { lines: 3000, seed: 9, startAt: Date.UTC(2024, 5, 1) });
      const plain = await enrolledSite("proxy-http");
      expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC"], plain.state)).status).toBe(0);
      const viaProxy = await collector(["sync"], plain.state, { HTTP_PROXY: proxy.url });
      expect(viaProxy.status, viaProxy.stderr).toBe(0);
      const host = new URL(edge.url).host;
      expect(proxy.seen).toContainEqual({ method: "POST", target: expect.stringMatching(new RegExp(`^http://${host}/v1/collectors/col_[^/]+/batches$`)) });
      expect(proxy.seen.some((s) => s.method === "CONNECT")).toBe(false);

      const seenBefore = proxy.seen.length;
      expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", more, "--timezone", "UTC"], plain.state)).json).toMatchObject({ ok: true });
      const bypass = await collector(["sync"], plain.state, { HTTP_PROXY: proxy.url, NO_PROXY: "127.0.0.1" });
      expect(bypass.status, bypass.stderr).toBe(0);
      expect(proxy.seen.length).toBe(seenBefore);

      const cert = makeCertificate(root);
      if (!cert) {
        console.warn("openssl is not installed: the CONNECT half of the proxy test is skipped");
        return;
      }
      const front = await startTlsFront(edge.url, cert);
      try {
        const tlsEnv = { HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: cert.certPath };
        const secure = await enrolledSite("proxy-https", front.url, tlsEnv);
        expect(proxy.seen).toContainEqual({ method: "CONNECT", target: new URL(front.url).host });
        expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", file, "--timezone", "UTC"], secure.state)).status).toBe(0);
        const connects = proxy.seen.filter((s) => s.method === "CONNECT").length;
        const synced = await collector(["sync"], secure.state, tlsEnv);
        expect(synced.status, synced.stderr).toBe(0);
        expect(synced.json).toMatchObject({ pending: 0 });
        expect(proxy.seen.filter((s) => s.method === "CONNECT").length).toBeGreaterThan(connects);
        // Without the CA the edge's certificate is not trusted: unreachable (exit 3), nothing receipted.
        expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", more, "--timezone", "UTC"], secure.state)).status).toBe(0);
        const untrusted = await collector(["sync", "--attempts", "1"], secure.state, { HTTPS_PROXY: proxy.url });
        expect(untrusted.status).toBe(3);
        expect(untrusted.json).toMatchObject({ error: "edge_unreachable" });
        expect((await collector(["sync"], secure.state, tlsEnv)).json).toMatchObject({ pending: 0 });
      } finally {
        await front.stop();
      }
    } finally {
      await proxy.stop();
    }
  }, 300_000);
});

/** Runs the daemon until `stopWhenStderr` matches or `stopWhen` resolves true, then SIGTERM. */
function runDaemon(state: string, config: string, stopWhenStderr: (stderr: string) => boolean, stopWhen?: () => Promise<boolean>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, "run", "--config", config, "--state", state], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    let signalled = false;
    const stop = () => {
      if (!signalled) {
        signalled = true;
        child.kill("SIGTERM");
      }
    };
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (stopWhenStderr(stderr)) stop();
    });
    const poll = stopWhen ? setInterval(() => { void stopWhen().then((yes) => yes && stop(), () => undefined); }, 250) : undefined;
    const guard = setTimeout(() => { child.kill("SIGKILL"); reject(new Error(`daemon did not stop:\n${stderr}`)); }, 300_000);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(guard);
      if (poll) clearInterval(poll);
      resolve({ code, stderr });
    });
  });
}
