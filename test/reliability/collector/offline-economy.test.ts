// DESIGN.md §4 offline economy: a site whose edge stays unreachable cuts open sessions only at
// cut_s (default 3600), never at its sync ticks or polls, so months offline stay a bounded
// backlog. The daemon runs in-process on an injected clock against a busy license server (every
// license in use, sessions of 6 h – 4 days) with the edge's address answering nothing.
// `npm test` runs 30 days (≈ 3,000 daemon rounds); SOAK=1 the full 120 days (≈ 11,500 rounds,
// 290,000 records; ≈ 4 minutes on a loaded 2-core machine). OFFLINE_DAYS=N overrides.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { checkRunConfig } from "../../../collector/daemon/run-config.ts";
import { SiteDaemon } from "../../../collector/daemon/site-daemon.ts";
import { openSite } from "../../../collector/site.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { EdgeClient } from "../../../collector/sync/edge-client.ts";
import { parseStrictJson, type ChainRecord, type UsageData } from "../../../shared/protocol/index.ts";
import { BusyLicenseServer } from "../../support/busy-license-server.ts";
import { freePort } from "../../support/local-edge.ts";
import { enrolledState } from "../../collector/cli/cli-io.ts";

const SOAK = process.env.SOAK === "1";
const DAYS = Number(process.env.OFFLINE_DAYS ?? (SOAK ? 120 : 30));
/** How often the log is read: four polls an hour, so a cut at every poll would show. */
const POLL_S = 900;
const SLOTS = 100;
const START = Date.UTC(2026, 0, 5);

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-offline-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

it(`${DAYS} days offline with ${SLOTS} licenses always in use: one record per session-hour, every license-second kept`, async () => {
  const state = join(dir, "site");
  const server = `http://127.0.0.1:${await freePort()}`; // nothing listens
  await enrolledState(state, server);
  const file = join(dir, "lmgrd.log");
  const lic = new BusyLicenseServer({ file, slots: SLOTS, seed: 7, startAt: START });
  let now = START;
  const clock = () => now;
  const site = await openSite(statePaths(state), { clock });
  const config = checkRunConfig({ sources: [{ name: "lmgrd", kind: "flexlm-debuglog", file, timezone: "UTC", interval_s: POLL_S }], heartbeat_s: 3600 });
  expect(config).toMatchObject({ cut_s: 3600, sync_s: 60 });
  const daemon = await SiteDaemon.start(site, config, new EdgeClient(server, { timeoutMs: 2000 }), {
    backoff: { maxAttempts: 1, baseMs: 0, maxMs: 0 }, random: () => 0.5, clock, log: (l) => { if (process.env.DEBUG_DAEMON) console.log(l); }, wait: async () => undefined,
  });
  const end = START + DAYS * 86_400_000;
  let rounds = 0;
  let syncs = 0;
  const t0 = performance.now();
  while (now < end) {
    lic.advance(now);
    const attempts = daemon.status()!.sync.last_attempt;
    const next = await daemon.round();
    if (daemon.status()!.sync.last_attempt !== attempts) syncs++;
    rounds++;
    now = Math.max(now + 1000, Math.min(next, end));
  }
  lic.shutdown(end);
  now = end + 300_000;
  await daemon.round();
  await daemon.close();
  const elapsed = performance.now() - t0;

  const entries = await site.log.read(1, { maxCount: 10_000_000, maxBytes: 2 ** 32 });
  await site.close();
  const records = entries.map((e) => parseStrictJson(new TextDecoder().decode(e.payload)) as ChainRecord);
  const usage = records.filter((r) => r.kind === "usage").map((r) => r.data as UsageData);
  const heartbeats = records.filter((r) => r.kind === "heartbeat").length;
  const seconds = new Map<string, number>();
  for (const u of usage) seconds.set(u.feature, (seconds.get(u.feature) ?? 0) + ((u.end - u.start) / 1000) * u.count);
  console.log(`offline ${DAYS} days, ${SLOTS} licenses: ${rounds} rounds, ${syncs} sync attempts, ${lic.sessionsClosed} sessions, ${usage.length} usage records (${lic.hourlyIntervals} session-hours), ${heartbeats} heartbeats, in ${(elapsed / 1000).toFixed(1)} s`);
  // Every interval ends on an hour boundary or where its session ended: no cut at a sync tick.
  expect(usage.every((u) => u.end % 3_600_000 === 0 || u.final)).toBe(true);
  expect(usage.length).toBe(lic.hourlyIntervals);
  expect(records.length).toBeLessThan(3_000_000);
  expect(heartbeats).toBe(DAYS * 24 + 1);
  expect(Object.fromEntries(seconds)).toEqual(Object.fromEntries(lic.truth));
  // The edge was tried with backoff (at most every 15 minutes), not at every 60 s tick.
  expect(syncs).toBeLessThan((DAYS * 86_400) / 600);
}, SOAK ? 1_800_000 : 600_000);
