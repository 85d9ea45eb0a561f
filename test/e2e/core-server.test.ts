// The self-hosted core (scripts/core.ts) as an operator runs it: a real process on a temp data
// dir, production rules, secrets from the environment. Protocol round trip, the production
// refusals, one JSON log line per request, a second core refused, a crash's stale lock ignored, a
// core that lost its lock stopping at once, SIGTERM draining a request in flight, and every balance kept across restarts.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyReceipt } from "../../shared/protocol/index.ts";
import type { CoreBuild } from "../../scripts/core/build.ts";
import { coreBuild, freshSecrets, runCore, startCore, type CoreProcess } from "../support/core-process.ts";
import { edgeRequest } from "../support/local-edge.ts";
import { newContract, newTenant, postBatch, SignedSite, type Tenant } from "../support/signed-site.ts";
import { realNow } from "../support/test-clock.ts";

interface Balance { usage: { license_seconds: number; units: string }; collectors: Array<{ collector_id: string; acked_seq: number }> }

let root: string;
let build: CoreBuild;
const secrets = freshSecrets();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-core-"));
  build = await coreBuild();
});
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe("a core refuses to start", () => {
  it("without ADMIN_TOKEN and EDGE_SIGNING_KEY, naming both, exit 2, and creates nothing", async () => {
    const data = join(root, "no-secrets");
    const run = await runCore(["--data", data, "--port", "0", "--build", build.dir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("ADMIN_TOKEN is not set");
    expect(run.stderr).toContain("EDGE_SIGNING_KEY is not set");
    expect(existsSync(data)).toBe(false);
  });

  it("on a port in use, exit 2 naming it, and creates nothing (it made, locked and migrated the data dir first)", async () => {
    const taken = createServer();
    await new Promise<void>((ok) => taken.listen(0, "127.0.0.1", ok));
    try {
      const data = join(root, "port-taken");
      const run = await runCore(["--data", data, "--host", "127.0.0.1", "--port", String((taken.address() as AddressInfo).port), "--build", build.dir], secrets);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain("is already in use");
      expect(existsSync(data)).toBe(false);
    } finally {
      taken.close();
    }
  });

  it("with a signing key that is not a 32-byte hex seed", async () => {
    const run = await runCore(["--data", join(root, "bad-key"), "--port", "0", "--build", build.dir], { ...secrets, EDGE_SIGNING_KEY: "abc" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("EDGE_SIGNING_KEY must be 64 hex digits");
  });
});

describe("one core on a data dir", () => {
  let data: string;
  let core: CoreProcess;
  let tenant: Tenant;
  const sites: SignedSite[] = [];
  const edge = () => ({ url: core.url, adminToken: secrets.ADMIN_TOKEN });

  beforeAll(async () => {
    data = join(root, "main");
    core = await startCore({ data, secrets, build });
    tenant = await newTenant(edge());
  });
  afterAll(async () => {
    await core?.stop();
  });

  it("runs the protocol: enroll, signed batches, a receipt the edge key verifies, replay, balance", async () => {
    const contractId = await newContract(edge(), tenant);
    const site = await SignedSite.enroll(edge(), tenant, contractId);
    sites.push(site);
    const first = await postBatch(edge(), site, site.batch(40, 2));
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.receipt!.acked_seq).toBe(40);
    const { keys } = await edgeRequest<{ keys: Array<{ key_id: string; public_key: string }> }>(edge(), "GET", "/v1/keys", undefined);
    const key = keys.find((k) => k.key_id === first.body.receipt!.key_id)!;
    expect(verifyReceipt(first.body.receipt as never, first.body.signature!, key.public_key)).toBe(true);

    const batch = site.batch(25);
    expect((await postBatch(edge(), site, batch)).body.receipt!.acked_seq).toBe(65);
    const replay = await postBatch(edge(), site, batch);
    expect(replay.status).toBe(200);
    expect(replay.body.receipt!.acked_seq).toBe(65);

    const balance = await edgeRequest<Balance>(edge(), "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
    expect(balance.usage.license_seconds).toBe(site.licenseSeconds());
    expect(balance.collectors).toEqual([expect.objectContaining({ collector_id: site.collectorId, acked_seq: 65 })]);
  });

  it("refuses X-Tally-Now (production rules) and the refused batch changes nothing", async () => {
    const site = sites[0]!;
    const health = await fetch(`${core.url}/health`, { headers: { "X-Tally-Now": String(realNow() + 86_400_000) } });
    expect(health.status).toBe(400);
    expect(await health.json()).toMatchObject({ error: "clock_injection_refused" });
    const batch = site.batch(5);
    const refused = await postBatch(edge(), site, batch, { "X-Tally-Now": "1" });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("clock_injection_refused");
    const balance = await edgeRequest<Balance>(edge(), "GET", `/v1/contracts/${site.contractId}/balance`, tenant.vendorKey);
    expect(balance.collectors[0]!.acked_seq).toBe(65);
    // The same batch without the header is accepted: the refusal was the header's alone.
    expect((await postBatch(edge(), site, batch)).body.receipt!.acked_seq).toBe(70);
  });

  it("serves the console's static files and none of miniflare's local endpoints", async () => {
    const htmx = await fetch(`${core.url}/console/assets/htmx.min.js`);
    expect(htmx.status).toBe(200);
    expect((await htmx.text()).length).toBeGreaterThan(10_000);
    const signIn = await fetch(`${core.url}/console/sign-in`);
    expect(signIn.status).toBe(200);
    for (const path of ["/cdn-cgi/local/scheduled", "/cdn-cgi/local/platform-proxy", "/cdn-cgi/local/explorer"]) {
      expect((await fetch(`${core.url}${path}`)).status).toBe(404);
    }
  });

  it("writes one JSON log line per request, with status links redacted", async () => {
    const site = sites[0]!;
    const link = await edgeRequest<{ url: string }>(edge(), "POST", `/v1/contracts/${site.contractId}/status-links`, tenant.vendorKey, {});
    const token = new URL(link.url).pathname.split("/").pop()!;
    await new Promise((ok) => setTimeout(ok, 200)); // the line is written when the answer has gone
    const before = core.lines().filter((l) => l.event === "request").length;
    for (let i = 0; i < 3; i++) await fetch(`${core.url}/health?probe=${i}`);
    const page = await fetch(`${core.url}/status/${token}`, { headers: { accept: "application/json" } });
    expect(page.status).toBe(200);
    await new Promise((ok) => setTimeout(ok, 200));
    const requests = core.lines().filter((l) => l.event === "request").slice(before);
    expect(requests.map((l) => [l.method, l.path, l.status])).toEqual([
      ["GET", "/health", 200], ["GET", "/health", 200], ["GET", "/health", 200], ["GET", "/status/…", 200],
    ]);
    expect(core.output()).not.toContain(token);
    for (const line of requests) expect(line).toEqual(expect.objectContaining({ ts: expect.any(String), ms: expect.any(Number), remote: "127.0.0.1" }));
  });

  it("refuses a second core on the same data dir while the first runs (exit 2, names the holder)", async () => {
    const second = await runCore(["--data", data, "--port", "0", "--build", build.dir], secrets);
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`core pid ${core.pid}`);
    expect((await fetch(`${core.url}/health`)).status).toBe(200);
  });

  it("drains a request in flight on SIGTERM, exits 0, and a restart keeps every balance", { timeout: 300_000 }, async () => {
    // More contracts and sites, so the restart has several Durable Objects to bring back.
    for (let c = 0; c < 3; c++) {
      const contractId = await newContract(edge(), tenant);
      for (let s = 0; s < 2; s++) {
        const site = await SignedSite.enroll(edge(), tenant, contractId, `site ${c}.${s}`);
        sites.push(site);
        expect((await postBatch(edge(), site, site.batch(30 + 10 * s, 1 + c))).status).toBe(200);
      }
    }
    // A large batch still in flight when SIGTERM arrives is answered, not cut.
    const last = sites.at(-1)!;
    const inFlight = postBatch(edge(), last, last.batch(5000));
    await new Promise((ok) => setTimeout(ok, 150));
    const stopped = core.stop();
    const answer = await inFlight;
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.receipt!.acked_seq).toBe(last.records.length);
    expect(await stopped).toEqual({ code: 0, signal: null });
    expect(existsSync(join(data, "core.lock"))).toBe(false);
    expect(core.lines().find((l) => l.event === "stopping")).toBeDefined();

    core = await startCore({ data, secrets, build });
    for (const site of sites) {
      const balance = await edgeRequest<Balance>(edge(), "GET", `/v1/contracts/${site.contractId}/balance`, tenant.vendorKey);
      const mine = balance.collectors.find((c) => c.collector_id === site.collectorId)!;
      expect(mine.acked_seq).toBe(site.records.length);
      const ofContract = sites.filter((s) => s.contractId === site.contractId).reduce((n, s) => n + s.licenseSeconds(), 0);
      expect(balance.usage.license_seconds).toBe(ofContract);
    }
    // The restarted core goes on where the chain left off.
    const next = await postBatch(edge(), last, last.batch(3));
    expect(next.body.receipt!.acked_seq).toBe(last.records.length);
  });

  it("starts over a stale lock left by a crash (kill -9)", async () => {
    await core.kill9();
    const stale = JSON.parse(readFileSync(join(data, "core.lock"), "utf8")) as { pid: number };
    expect(stale.pid).toBe(core.pid);
    core = await startCore({ data, secrets, build });
    const site = sites[0]!;
    const balance = await edgeRequest<Balance>(edge(), "GET", `/v1/contracts/${site.contractId}/balance`, tenant.vendorKey);
    expect(balance.collectors[0]!.acked_seq).toBe(site.records.length);
  });
});

it("a core killed alone by SIGKILL leaves its workerd running on the data dir: the next core stops that workerd before it opens the databases", async () => {
  const data = join(root, "orphan");
  const first = await startCore({ data, secrets, build });
  try {
    const lock = JSON.parse(readFileSync(join(data, "core.lock"), "utf8")) as { pid: number; runtime_pid?: number };
    expect(lock.pid).toBe(first.pid);
    const runtime = lock.runtime_pid!;
    expect(readFileSync(`/proc/${runtime}/stat`, "utf8")).toContain("(workerd)");
    process.kill(first.pid, "SIGKILL"); // the core alone, as the OOM killer or `kill -9 <pid>` does
    await new Promise((ok) => setTimeout(ok, 1000));
    expect(existsSync(`/proc/${runtime}`)).toBe(true); // orphaned, the databases still open
    const second = await startCore({ data, secrets, build });
    try {
      const alive = existsSync(`/proc/${runtime}`) && !/\) Z /.test(readFileSync(`/proc/${runtime}/stat`, "utf8")); // a zombie has closed its files
      expect(alive).toBe(false);
      expect((await fetch(`${second.url}/health`)).status).toBe(200);
    } finally {
      expect(await second.stop()).toEqual({ code: 0, signal: null });
    }
  } finally {
    await first.kill9();
  }
});

it("a core whose lock became another's (taken over from another host as stale) stops at once: exit 1, its workerd gone, that lock left alone", async () => {
  const data = join(root, "lost-lock");
  const core = await startCore({ data, secrets, build });
  try {
    const path = join(data, "core.lock");
    const runtime = (JSON.parse(readFileSync(path, "utf8")) as { runtime_pid: number }).runtime_pid;
    // What another host's core leaves once it has moved this one's lock aside as stale (this host
    // suspended past the staleness, say): its own lock, written whole.
    const other = { pid: 4242, host: `${hostname()}-elsewhere`, role: "core", started_at: "after a takeover", heartbeat_ms: 10_000 };
    writeFileSync(`${path}.next`, JSON.stringify(other));
    renameSync(`${path}.next`, path);
    while (!core.lines().some((l) => l.event === "lock_lost")) await new Promise((ok) => setTimeout(ok, 100)); // the next heartbeat (10 s)
    expect(await core.stop()).toEqual({ code: 1, signal: null });
    expect(core.output()).toContain("stopped at once, requests in flight cut:");
    expect(core.lines().some((l) => l.event === "stopped")).toBe(true);
    expect(existsSync(`/proc/${runtime}`) && !/\) Z /.test(readFileSync(`/proc/${runtime}/stat`, "utf8"))).toBe(false);
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual(other);
  } finally {
    await core.kill9();
  }
});

it("behind a TLS proxy (--public-url): the Worker sees the public origin — status links, Secure cookies, the console's origin check", async () => {
  const core = await startCore({ data: join(root, "public"), secrets, build, args: ["--public-url", "https://tally.example.com"] });
  try {
    const edge = { url: core.url, adminToken: secrets.ADMIN_TOKEN };
    const tenant = await newTenant(edge, "Proxied Vendor");
    const contractId = await newContract(edge, tenant);
    const link = await edgeRequest<{ url: string }>(edge, "POST", `/v1/contracts/${contractId}/status-links`, tenant.vendorKey, {});
    expect(link.url).toMatch(/^https:\/\/tally\.example\.com\/status\//);
    const signIn = (origin: string) => fetch(`${core.url}/console/sign-in`, {
      method: "POST", redirect: "manual", body: new URLSearchParams({ api_key: tenant.vendorKey }), headers: { origin },
    });
    const ok = await signIn("https://tally.example.com");
    expect(ok.status).toBe(303);
    expect(ok.headers.get("set-cookie")).toContain("Secure");
    expect((await signIn("http://evil.example")).status).toBe(403);
  } finally {
    expect(await core.stop()).toEqual({ code: 0, signal: null });
  }
});
