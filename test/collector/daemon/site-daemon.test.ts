// The daemon stays up (in-process, on an injected clock, the edge unreachable): a broken source is
// that source's health, retried with backoff, while another source goes on; a full disk pauses
// appends and loses nothing; the contract's scope keeps out-of-scope usage at the site; user and
// host leave the site as pseudonyms only this site can reveal; `status` reads the running daemon's
// view without touching its log.
import { mkdir, mkdtemp, rm, writeFile, open } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkRunConfig, type RunConfig } from "../../../collector/daemon/run-config.ts";
import { SiteDaemon } from "../../../collector/daemon/site-daemon.ts";
import { openSite, type Site } from "../../../collector/site.ts";
import { saveIdentity, saveKey } from "../../../collector/state/identity.ts";
import { hasPrivacyKey } from "../../../collector/state/pseudonyms.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { EdgeClient } from "../../../collector/sync/edge-client.ts";
import { generateKeyPair, parseStrictJson, type ChainRecord, type UsageData } from "../../../shared/protocol/index.ts";
import { BusyLicenseServer } from "../../support/busy-license-server.ts";
import { freePort } from "../../support/local-edge.ts";
import { cli } from "../cli/cli-io.ts";
import { smallTmpfs } from "../../support/small-tmpfs.ts";

let dir: string;
let offline: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tally-daemon-"));
  offline = `http://127.0.0.1:${await freePort()}`;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function site(state: string, scope: unknown = null): Promise<void> {
  await mkdir(state, { recursive: true });
  const paths = statePaths(state);
  const key = generateKeyPair();
  await saveKey(paths, { secret_key: key.secretKey, public_key: key.publicKey });
  await saveIdentity(paths, { collector_id: "col_daemon_test", contract_id: "ctr_daemon_test", server: offline, site: "test", scope, enrolled_at: "2026-01-01T00:00:00.000Z" }, "tok");
}

class Harness {
  now: number;
  readonly site: Site;
  readonly daemon: SiteDaemon;
  constructor(site: Site, daemon: SiteDaemon, start: number) {
    this.site = site;
    this.daemon = daemon;
    this.now = start;
  }
  static async start(state: string, config: RunConfig, start: number, log: (line: string) => void = () => undefined, server = offline): Promise<Harness> {
    const box = { now: start };
    const opened = await openSite(statePaths(state), { clock: () => box.now });
    const daemon = await SiteDaemon.start(opened, config, new EdgeClient(server, { timeoutMs: 2000 }), {
      backoff: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, random: () => 0.5, clock: () => box.now, log, wait: async () => undefined,
    });
    const h = new Harness(opened, daemon, start);
    Object.defineProperty(h, "now", { get: () => box.now, set: (v: number) => { box.now = v; } });
    return h;
  }
  /** Rounds until `until`, letting `before` write what the license server did. */
  async runUntil(until: number, before: (now: number) => void = () => undefined): Promise<void> {
    while (this.now < until) {
      before(this.now);
      this.now = Math.max(this.now + 1000, Math.min(await this.daemon.round(), until));
    }
  }
  async records(): Promise<ChainRecord[]> {
    const entries = await this.site.log.read(1, { maxCount: 1_000_000, maxBytes: 2 ** 31 });
    return entries.map((e) => parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord);
  }
  async stop(): Promise<void> {
    await this.daemon.close();
    await this.site.close();
  }
}

const seconds = (records: ChainRecord[]) => {
  const out: Record<string, number> = {};
  for (const r of records) if (r.kind === "usage") {
    const u = r.data as UsageData;
    out[u.feature] = (out[u.feature] ?? 0) + ((u.end - u.start) / 1000) * u.count;
  }
  return out;
};
const sorted = (o: Record<string, number> | Map<string, number>) => Object.fromEntries(Object.entries(o instanceof Map ? Object.fromEntries(o) : o).sort());
const START = Date.UTC(2025, 2, 3);
const HOUR = 3_600_000;

describe("site daemon", () => {
  it("a broken source is reported and retried with backoff while a working one goes on; once fixed it catches up", async () => {
    const state = join(dir, "broken");
    await site(state);
    const good = join(dir, "good.log");
    const brokenPath = join(dir, "broken.log");
    await mkdir(brokenPath); // reading a directory fails (EISDIR) every time
    const lic = new BusyLicenseServer({ file: good, slots: 4, seed: 3, startAt: START });
    const config = checkRunConfig({ sources: [
      { name: "good", kind: "flexlm-debuglog", file: good, timezone: "UTC", interval_s: 60 },
      { name: "broken", kind: "flexlm-debuglog", file: brokenPath, timezone: "UTC", interval_s: 60 },
    ], heartbeat_s: 600 });
    const h = await Harness.start(state, config, START);
    try {
      const retries: number[] = [];
      while (h.now < START + 2 * HOUR) {
        lic.advance(h.now);
        h.now = Math.max(h.now + 1000, Math.min(await h.daemon.round(), START + 2 * HOUR));
        const broken = h.daemon.status()!.sources[1]!;
        if (broken.retry_at !== null && retries.at(-1) !== broken.retry_at) retries.push(broken.retry_at);
      }
      const [goodHealth, brokenHealth] = h.daemon.status()!.sources;
      expect(goodHealth).toMatchObject({ up: true, last_error: null, consecutive_failures: 0 });
      expect(brokenHealth).toMatchObject({ up: false, last_error: { code: "EISDIR" } });
      // Backoff: the interval (60 s), doubling, at most 15 minutes — not a retry at every round.
      const gaps = retries.slice(1).map((t, i) => Math.round((t - retries[i]!) / 1000));
      expect(gaps.slice(0, 6)).toEqual([120, 240, 480, 900, 900, 900]);
      expect(brokenHealth!.consecutive_failures).toBe(retries.length);
      const heartbeat = (await h.records()).filter((r) => r.kind === "heartbeat").at(-1)!;
      expect(heartbeat.data).toMatchObject({ sources: [{ source: "good", up: true }, { source: "broken", up: false }] });
      expect(goodHealth!.totals.lines).toBeGreaterThan(4);
      expect(Object.values(goodHealth!.licenses_in_use).reduce((a, b) => a + b, 0)).toBe(lic.held());

      // The operator fixes it: the source recovers at its next retry and reads its file.
      await rm(brokenPath, { recursive: true });
      await writeFile(brokenPath, `${" 0:00:00"} (MLM) TIMESTAMP 3/3/2025\n 0:10:00 (MLM) OUT: "Compiler" fixer@pc  \n 0:40:00 (MLM) IN: "Compiler" fixer@pc  \n`);
      await h.runUntil(START + 5 * HOUR, (now) => lic.advance(now));
      const fixed = h.daemon.status()!.sources[1]!;
      expect(fixed).toMatchObject({ up: true, consecutive_failures: 0, retry_at: null, totals: { lines: 3 } });
      expect((await h.records()).some((r) => r.kind === "usage" && (r.data as UsageData).user === "fixer")).toBe(true);
    } finally {
      await h.stop();
    }
  });

  it("a log that is not UTF-8, read with the default encoding, fails its source (bad_config) instead of turning its names into U+FFFD; named in the config, it is read", async () => {
    const state = join(dir, "cp1252");
    await site(state);
    const log = join(dir, "windows-server.log"); // a Windows lmgrd writes its ANSI code page
    await writeFile(log, Buffer.from(' 0:00:00 (MLM) TIMESTAMP 3/3/2025\n 0:10:00 (MLM) OUT: "MATLAB" josé@pc1  \n 0:40:00 (MLM) IN: "MATLAB" josé@pc1  \n', "latin1"));
    const source = { name: "win", kind: "flexlm-debuglog", file: log, timezone: "UTC", interval_s: 60 };
    const h = await Harness.start(state, checkRunConfig({ sources: [source], heartbeat_s: 600 }), START);
    try {
      await h.runUntil(START + 10 * 60_000);
      expect(h.daemon.status()!.sources[0]).toMatchObject({ up: false, last_error: { code: "bad_config", reason: "bad_encoding" }, totals: { lines: 0 } });
      expect(h.daemon.status()!.sources[0]!.last_error!.message).toContain("is not UTF-8");
      expect((await h.records()).filter((r) => r.kind === "usage")).toEqual([]);
    } finally {
      await h.stop();
    }
    const fixed = await Harness.start(state, checkRunConfig({ sources: [{ ...source, encoding: "windows-1252" }], heartbeat_s: 600 }), START + HOUR);
    try {
      await fixed.runUntil(START + HOUR + 10 * 60_000);
      expect(fixed.daemon.status()!.sources[0]).toMatchObject({ up: true, last_error: null, totals: { lines: 3 } });
      const users = (await fixed.records()).filter((r) => r.kind === "usage").map((r) => (r.data as UsageData).user);
      expect(new Set(users)).toEqual(new Set(["josé"]));
    } finally {
      await fixed.stop();
    }
  });

  it("an edge that does not know this collector stops syncing as `refused`, the same after a restart (it said `revoked` until one)", async () => {
    const edge = createServer((req, res) => {
      req.resume();
      req.on("end", () => { res.writeHead(401, { "content-type": "application/json" }); res.end(JSON.stringify({ error: "unknown_collector", message: "no collector col_daemon_test" })); });
    });
    await new Promise<void>((resolve) => edge.listen(0, "127.0.0.1", resolve));
    const server = `http://127.0.0.1:${(edge.address() as AddressInfo).port}`;
    try {
      const state = join(dir, "refused");
      await site(state);
      const log = join(dir, "refused.jsonl");
      await writeFile(log, "");
      const config = checkRunConfig({ sources: [{ name: "app", kind: "jsonl", file: log }], heartbeat_s: 60, sync_s: 60 });
      const h = await Harness.start(state, config, START, () => undefined, server);
      try {
        await h.runUntil(START + 10 * 60_000);
        expect(h.daemon.status()!.sync.stopped).toMatchObject({ code: "refused" });
      } finally {
        await h.stop();
      }
      const again = await Harness.start(state, config, START + HOUR, () => undefined, server);
      try {
        expect(again.daemon.status()!.sync.stopped).toMatchObject({ code: "refused" });
      } finally {
        await again.stop();
      }
    } finally {
      edge.close();
    }
  });

  it("a log configured as another kind fails its source (bad_config, wrong_kind, naming its kind) instead of being read as unknown lines, its offset saved past them; configured as its kind, it is read", async () => {
    const state = join(dir, "wrong-kind");
    await site(state);
    const log = join(dir, "lmgrd-as-rlm.log");
    await writeFile(log, ' 0:00:00 (MLM) TIMESTAMP 3/3/2025\n 0:10:00 (MLM) OUT: "MATLAB" ann@pc1  \n 0:40:00 (MLM) IN: "MATLAB" ann@pc1  \n');
    const source = { name: "lic", kind: "rlm-reportlog", file: log, timezone: "UTC", interval_s: 60 };
    const h = await Harness.start(state, checkRunConfig({ sources: [source], heartbeat_s: 600 }), START);
    try {
      await h.runUntil(START + 10 * 60_000);
      expect(h.daemon.status()!.sources[0]).toMatchObject({ up: false, last_error: { code: "bad_config", reason: "wrong_kind" }, totals: { lines: 0 } });
      expect(h.daemon.status()!.sources[0]!.last_error!.message).toContain("give its kind (in the config, sources[].kind: flexlm-debuglog)");
    } finally {
      await h.stop();
    }
    const fixed = await Harness.start(state, checkRunConfig({ sources: [{ ...source, kind: "flexlm-debuglog" }], heartbeat_s: 600 }), START + HOUR);
    try {
      await fixed.runUntil(START + HOUR + 10 * 60_000);
      expect(fixed.daemon.status()!.sources[0]).toMatchObject({ up: true, last_error: null, totals: { lines: 3 } });
      expect((await fixed.records()).filter((r) => r.kind === "usage").map((r) => (r.data as UsageData).user)).toEqual(["ann"]);
    } finally {
      await fixed.stop();
    }
  });

  it("a log empty when run first starts is judged by its first lines when they come: another kind fails its source then (it was read as unknown lines)", async () => {
    // Before, the first-read checks (kind, encoding, zone) ran only on a log that had bytes at the first read.
    for (const startAt of [undefined, "end"] as const) {
      const state = join(dir, `empty-first-${startAt ?? "beginning"}`);
      await site(state);
      const log = join(dir, `empty-first-${startAt ?? "beginning"}.log`);
      await writeFile(log, "");
      const source = { name: "lic", kind: "rlm-reportlog", file: log, timezone: "UTC", interval_s: 60, ...(startAt ? { start_at: startAt } : {}) };
      const h = await Harness.start(state, checkRunConfig({ sources: [source], heartbeat_s: 600 }), START);
      try {
        await h.runUntil(START + 5 * 60_000);
        expect(h.daemon.status()!.sources[0]).toMatchObject({ up: true, last_error: null });
        await writeFile(log, ' 0:00:00 (MLM) TIMESTAMP 3/3/2025\n 0:10:00 (MLM) OUT: "MATLAB" ann@pc1  \n 0:40:00 (MLM) IN: "MATLAB" ann@pc1  \n');
        await h.runUntil(START + 15 * 60_000);
        expect(h.daemon.status()!.sources[0]).toMatchObject({ up: false, last_error: { code: "bad_config", reason: "wrong_kind" }, totals: { lines: 0 } });
      } finally {
        await h.stop();
      }
    }
  });

  it("a log naming a zone whose clock is not this machine's, read without a configured timezone, fails its source (bad_config) instead of being read hours off; named in the config, it is read", async () => {
    const state = join(dir, "other-zone");
    await site(state);
    const log = join(dir, "new-york-server.log"); // copied, or read from a share: the server is in New York
    const text = (zone: string) => ` 0:00:00 (lmgrd) Server's System Date and Time: Mon Mar 03 2025 00:00:00 ${zone}\n 0:00:01 (MLM) TIMESTAMP 3/3/2025\n 0:10:00 (MLM) OUT: "MATLAB" ann@pc1  \n 0:40:00 (MLM) IN: "MATLAB" ann@pc1  \n`;
    await writeFile(log, text("Eastern Standard Time"));
    const source = { name: "ny", kind: "flexlm-debuglog", file: log, interval_s: 60 };
    // This machine's zone stands in for the one the config leaves out: here it is not New York's.
    const machine = checkRunConfig({ sources: [source], heartbeat_s: 600 });
    const config = { ...machine, sources: [{ ...machine.sources[0]!, timezone: "Europe/Paris" }] } satisfies RunConfig;
    const h = await Harness.start(state, config, START);
    try {
      await h.runUntil(START + 10 * 60_000);
      expect(h.daemon.status()!.sources[0]).toMatchObject({ up: false, last_error: { code: "bad_config", reason: "timezone_mismatch" }, totals: { lines: 0 } });
      expect(h.daemon.status()!.sources[0]!.last_error!.message).toContain('names its server\'s zone "Eastern Standard Time" (America/New_York), whose clock is not this machine\'s (Europe/Paris)');
      expect((await h.records()).filter((r) => r.kind === "usage")).toEqual([]);
    } finally {
      await h.stop();
    }
    // A zone with New York's clock (Toronto's) is read as it is; so is any zone the config names.
    for (const [i, cfg] of [
      { ...config, sources: [{ ...config.sources[0]!, timezone: "America/Toronto" }] },
      checkRunConfig({ sources: [{ ...source, timezone: "America/New_York" }], heartbeat_s: 600 }),
    ].entries()) {
      const fresh = join(dir, `other-zone-${i}`);
      await site(fresh);
      const ok = await Harness.start(fresh, cfg, START + HOUR);
      try {
        await ok.runUntil(START + HOUR + 10 * 60_000);
        expect(ok.daemon.status()!.sources[0]).toMatchObject({ up: true, last_error: null, totals: { lines: 4 } });
        const usage = (await ok.records()).filter((r) => r.kind === "usage").map((r) => (r.data as UsageData).start);
        expect(usage).toEqual([Date.UTC(2025, 2, 3, 5, 10)]); // 0:10 in New York (EST, UTC−5)
      } finally {
        await ok.stop();
      }
    }
  });

  it("an RLM report log stating another clock (TIMEZONE 300 1: UTC−5 with DST), read without a configured timezone, fails its source the same way; a zone with that clock is read", async () => {
    const log = join(dir, "new-york-server.rl");
    await writeFile(log, ["RLM Report Log Format 0, version 15.1, authenticated", "ISV: acme, RLM version 15.1 BL2", "START licsrv-ny 03/03/2025 00:00", "TIMEZONE 300 1 0 # UTC-5",
      'OUT solver 2.0 1 ann pc1 "" 1 1 0 1a 0 4f2 "" "solver" "2.0" 03/03 00:10:00', 'IN 1 solver 2.0 ann pc1 "" 1 0 0 1a 03/03 00:40:00', ""].join("\n"));
    const machine = checkRunConfig({ sources: [{ name: "ny", kind: "rlm-reportlog", file: log, interval_s: 60 }], heartbeat_s: 600 });
    const runAs = async (zone: string, check: (h: Harness) => Promise<void>) => {
      const state = join(dir, `rlm-zone-${zone.replace("/", "-")}`);
      await site(state);
      const h = await Harness.start(state, { ...machine, sources: [{ ...machine.sources[0]!, timezone: zone }] }, START);
      try {
        await h.runUntil(START + 10 * 60_000);
        await check(h);
      } finally {
        await h.stop();
      }
    };
    await runAs("Europe/Paris", async (h) => {
      expect(h.daemon.status()!.sources[0]).toMatchObject({ up: false, last_error: { code: "bad_config", reason: "timezone_mismatch" }, totals: { lines: 0 } });
      expect(h.daemon.status()!.sources[0]!.last_error!.message).toContain('states its server\'s clock as UTC-05:00 with daylight saving time ("TIMEZONE 300 1 0 # UTC-5"), whose clock is not this machine\'s (Europe/Paris)');
      expect((await h.records()).filter((r) => r.kind === "usage")).toEqual([]);
    });
    await runAs("America/Toronto", async (h) => {
      expect(h.daemon.status()!.sources[0]).toMatchObject({ up: true, last_error: null });
      expect((await h.records()).filter((r) => r.kind === "usage").map((r) => (r.data as UsageData).start)).toEqual([Date.UTC(2025, 2, 3, 5, 10)]);
    });
  });

  it("scope keeps out-of-scope usage at the site (counted); pseudonymise sends keyed pseudonyms, stable across restarts, revealed only here", async () => {
    const state = join(dir, "private");
    await site(state, [{ daemon: "MLM", features: ["MATLAB", "SIMULINK"] }]);
    const file = join(dir, "private.log");
    const lic = new BusyLicenseServer({ file, slots: 12, seed: 21, startAt: START });
    const config = checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: 300 }], privacy: { pseudonymise: true } });
    let h = await Harness.start(state, config, START);
    await h.runUntil(START + 2 * 86_400_000, (now) => lic.advance(now));
    await h.stop();
    h = await Harness.start(state, config, START + 2 * 86_400_000);
    const end = START + 4 * 86_400_000;
    await h.runUntil(end, (now) => lic.advance(now));
    lic.shutdown(end);
    h.now = end + 900_000;
    await h.daemon.round();
    const records = await h.records();
    const status = h.daemon.status()!;
    await h.stop();

    const usage = records.filter((r) => r.kind === "usage").map((r) => r.data as UsageData);
    expect(new Set(usage.map((u) => u.feature))).toEqual(new Set(["MATLAB", "SIMULINK"]));
    expect(sorted(seconds(records))).toEqual(sorted(Object.fromEntries([...lic.truth].filter(([f]) => f === "MATLAB" || f === "SIMULINK"))));
    expect(status.sources[0]!.totals.out_of_scope).toBeGreaterThan(0);
    expect(usage.every((u) => /^u_[0-9a-f]{16}$/.test(u.user) && /^h_[0-9a-f]{16}$/.test(u.host) && /^[0-9a-f]{32}$/.test(u.session))).toBe(true);
    expect(JSON.stringify(records)).not.toMatch(/"u\d+"|"h\d+"/);
    // One user, one pseudonym, before and after the restart.
    const bySession = new Map<string, Set<string>>();
    for (const u of usage) bySession.set(u.session, (bySession.get(u.session) ?? new Set()).add(u.user));
    expect([...bySession.values()].every((users) => users.size === 1)).toBe(true);
    const someone = usage[0]!.user;
    const reveal = await cli(["reveal", someone, "u_0000000000000000", "--state", state, "--json"]);
    expect(reveal.status).toBe(1);
    expect(reveal.json).toMatchObject({ names: [{ pseudonym: someone, kind: "user", name: expect.stringMatching(/^u\d+$/) }, { pseudonym: "u_0000000000000000", name: null }] });
    const text = await cli(["reveal", someone, "--state", state]);
    expect(text.stdout).toMatch(new RegExp(`^${someone}: user u\\d+$`, "m"));
  });

  it("a config that does not say privacy.pseudonymise keeps the pseudonyms the site sent before (logged); only an explicit false sends names in clear, with a warning", async () => {
    const state = join(dir, "privacy-unsaid");
    await site(state);
    const file = join(dir, "privacy-unsaid.log");
    const lic = new BusyLicenseServer({ file, slots: 6, seed: 8, startAt: START });
    const source = { name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: 300 };
    let seen = 0;
    const run = async (config: unknown, from: number) => {
      const logs: string[] = [];
      const h = await Harness.start(state, checkRunConfig(config), from, (line) => logs.push(line));
      await h.runUntil(from + 12 * HOUR, (now) => lic.advance(now));
      const records = (await h.records()).slice(seen);
      seen += records.length;
      const pseudonymise = h.daemon.status()!.pseudonymise;
      await h.stop();
      const usage = records.filter((r) => r.kind === "usage").map((r) => r.data as UsageData);
      expect(usage.length).toBeGreaterThan(0);
      const pseudonyms = usage.every((u) => /^u_[0-9a-f]{16}$/.test(u.user) && /^h_[0-9a-f]{16}$/.test(u.host));
      const clear = usage.every((u) => /^u\d+$/.test(u.user) && /^h\d+$/.test(u.host));
      return { names: pseudonyms ? "pseudonyms" : clear ? "clear" : "mixed", pseudonymise, privacyLogs: logs.filter((l) => l.includes("privacy")) };
    };
    // A site that never pseudonymised: unsaid is off, and no key is made.
    expect(await run({ sources: [source] }, START)).toEqual({ names: "clear", pseudonymise: false, privacyLogs: [] });
    expect(await hasPrivacyKey(statePaths(state))).toBe(false);
    expect(await run({ sources: [source], privacy: { pseudonymise: true } }, START + 12 * HOUR)).toEqual({ names: "pseudonyms", pseudonymise: true, privacyLogs: [] });
    // The config rewritten without `privacy`: the names stay at the site.
    const unsaid = await run({ sources: [source] }, START + 24 * HOUR);
    expect(unsaid).toMatchObject({ names: "pseudonyms", pseudonymise: true });
    expect(unsaid.privacyLogs).toEqual([expect.stringMatching(/^privacy: user and host names leave this site as pseudonyms, as they did before/)]);
    const off = await run({ sources: [source], privacy: { pseudonymise: false } }, START + 36 * HOUR);
    expect(off).toMatchObject({ names: "clear", pseudonymise: false });
    expect(off.privacyLogs).toEqual([expect.stringMatching(/^WARNING: privacy.pseudonymise is false: user and host names leave this site in clear/)]);
  });

  it("status while the daemon runs: the daemon's view (sources, progress, sync), the log untouched", async () => {
    const state = join(dir, "status");
    await site(state);
    const file = join(dir, "status.log");
    const lic = new BusyLicenseServer({ file, slots: 5, seed: 8, startAt: START });
    const h = await Harness.start(state, checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC" }] }), START);
    try {
      await h.runUntil(START + 3 * HOUR, (now) => lic.advance(now));
      await new Promise((r) => setTimeout(r, 1100)); // daemon.json is rewritten at most once a second
      await h.daemon.round();
      const r = await cli(["status", "--state", state, "--json"]);
      expect(r.status).toBe(0);
      expect(r.json).toMatchObject({
        locked: true, last_seq: h.site.log.lastSeq(), acked_seq: 0, pending: h.site.log.lastSeq(),
        daemon: { running: true, sync: { online: false } },
        sources: [{ source: "lmgrd", up: true, progress: { caught_up: true }, licenses_in_use: expect.any(Object) }],
      });
      const text = await cli(["status", "--state", state]);
      expect(text.stdout).toMatch(/^daemon: running \(pid \d+\)/m);
      expect(text.stdout).toMatch(/^sync: edge unreachable/m);
      expect(text.stdout).toMatch(/^source lmgrd \(flexlm-debuglog\): up; \d+ lines, 0 unknown, \d+ records, 0 out of scope; in use: /m);
    } finally {
      await h.stop();
    }
  });
});

// A real full disk: the state dir on a small tmpfs (needs `mount`, as root in CI).
const disk = await smallTmpfs("tally-daemon-enospc-", "3m");
const { mountPoint, skipReason } = disk;
afterAll(() => disk.remove());

describe("a full disk", () => {
  it.skipIf(skipReason !== "")(`pauses appends (flagged in status), loses and doubles nothing, and resumes once there is room${skipReason ? ` (skipped: ${skipReason})` : ""}`, async () => {
    const state = join(mountPoint, "state");
    await site(state);
    const file = join(dir, "enospc.log");
    const lic = new BusyLicenseServer({ file, slots: 30, seed: 13, startAt: START });
    const config = checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: 300 }], heartbeat_s: 3600 });
    const h = await Harness.start(state, config, START);
    try {
      await h.runUntil(START + 86_400_000, (now) => lic.advance(now));
      const before = h.site.log.lastSeq();
      // Fill the disk to the last byte.
      const ballast = await open(join(mountPoint, "ballast"), "w");
      const block = Buffer.alloc(64 * 1024, 1);
      for (let size = block.length; size >= 1; size = Math.floor(size / 2)) {
        for (;;) {
          const ok = await ballast.write(block, 0, size).then(() => true, () => false);
          if (!ok) break;
        }
      }
      await ballast.close();
      await h.runUntil(START + 3 * 86_400_000, (now) => lic.advance(now));
      const full = h.daemon.status()!;
      expect(full.disk_full).toMatchObject({ message: expect.stringMatching(/ENOSPC/) });
      expect(h.site.log.lastSeq() - before).toBeLessThan(50); // what fitted before the disk filled
      expect(full.sources[0]!.up).toBe(true); // the source is fine; the disk is not

      await rm(join(mountPoint, "ballast"));
      const end = START + 5 * 86_400_000;
      await h.runUntil(end, (now) => lic.advance(now));
      lic.shutdown(end);
      h.now = end + 600_000;
      await h.daemon.round();
      expect(h.daemon.status()!.disk_full).toBeNull();
      const records = await h.records();
      const keys = new Set<string>();
      for (const r of records) if (r.kind === "usage") {
        const u = r.data as UsageData;
        const key = `${u.session}@${u.start}`;
        expect(keys.has(key), `interval ${key} appended twice`).toBe(false);
        keys.add(key);
      }
      expect(sorted(seconds(records))).toEqual(sorted(lic.truth));
    } finally {
      await h.stop();
    }
  });
});
