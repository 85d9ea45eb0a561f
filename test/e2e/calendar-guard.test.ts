// The calendar guard, end to end: at the first hour of a month, the last hour of a 28-day
// February and on 29 February, a real collector process enrolls with a local edge running at
// that instant, the site's writer stamps records on the same clock (openSite's clock seam), and
// the open period's balance, the customer's status page, the site's replica and its offline
// estimate all hold the recent usage. One edge serves the three instants (wrangler takes seconds
// to start): it runs at the first by its shifted clock (TALLY_CLOCK_OFFSET_MS, what
// TALLY_TEST_NOW uses); the other two reach it through a proxy that stamps `X-Tally-Now` on every
// request. The mechanism is explained in test/support/test-clock.ts.
//
// Also a lint that keeps the next time bomb out: end-to-end, reliability and support code take
// "now" from testNow(), never from the real clock directly.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openReplica } from "../../collector/contract-doc/replica-file.ts";
import { statePaths } from "../../collector/state/state-dir.ts";
import { apiInstant, calendarCases, GUARD_INSTANTS, GUARD_PLAN } from "../support/calendar-edges.ts";
import { runCollector } from "../support/collector-process.ts";
import { edgeRequest, getBalance, provisionContract, REPO_ROOT, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { appendHourlyUsage } from "../support/site-usage.ts";
import { clockAt } from "../support/test-clock.ts";
import { startClockProxy, type ClockProxy } from "../support/clock-proxy.ts";

const HOUR = 3600_000;
const clocks = GUARD_INSTANTS.map(({ at }) => clockAt(at));
let edge: LocalEdge;
/** Where each instant's traffic goes: the edge itself for the first, a clock proxy for the others. */
const urls: string[] = [];
const proxies: ClockProxy[] = [];
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-e2e-calendar-"));
  edge = await startLocalEdge({ clockOffsetMs: clocks[0]!.offsetMs });
  urls.push(edge.url);
  for (const clock of clocks.slice(1)) {
    proxies.push(await startClockProxy(edge.url, clock.now));
    urls.push(proxies.at(-1)!.url);
  }
});
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.each(GUARD_INSTANTS.map((g, i) => ({ ...g, i })))("at $name", ({ at, i }) => {
  it("a collector's recent usage is in the open period: balance, status page, replica and offline estimate", async () => {
    const edgeAt: LocalEdge = { ...edge, url: urls[i]! };
    const siteClock = clocks[i]!.now;
    const { ownDay } = calendarCases(at);
    const contract = await provisionContract(edgeAt, { plan: GUARD_PLAN, start: ownDay.start, timezone: "UTC" });
    await edgeRequest(edgeAt, "POST", `/v1/contracts/${contract.contractId}/grants`, contract.vendorKey, { amount: "100", idempotency_key: "prepaid" });
    const dir = join(root, `site-${i}`);
    const collector = (args: string[]) => runCollector([...args, "--state", dir, "--json"]);
    const init = await collector(["init", "--server", edgeAt.url, "--enroll", contract.enrollmentToken, "--site", `plant-${i}`]);
    expect(init.status, init.stderr).toBe(0);

    await appendHourlyUsage(dir, ownDay.intervals.length, ownDay.intervals[0]!.start, 1, siteClock);
    const sync = await collector(["sync"]);
    expect(sync.json, sync.stderr).toMatchObject({ ok: true, acked_seq: 4, doc: { ok: true } });

    const asked = siteClock();
    const balance = await getBalance<any>(edgeAt, contract.vendorKey, contract.contractId);
    // The edge answered on the site's clock (as_of may be cut to whole seconds).
    expect(Date.parse(balance.as_of)).toBeGreaterThanOrEqual(Math.max(at, asked - 1000));
    expect(Date.parse(balance.as_of)).toBeLessThanOrEqual(siteClock());
    expect([balance.period.start, balance.period.end, balance.usage.license_seconds, balance.remaining_units, balance.quarantined_records])
      .toEqual([apiInstant(ownDay.period.start), apiInstant(ownDay.period.end), ownDay.license_seconds, "96", 0]);
    const link = await edgeRequest<{ token: string }>(edgeAt, "POST", `/v1/contracts/${contract.contractId}/status-links`, contract.vendorKey, {});
    const status = await (await fetch(`${edgeAt.url}/status/${link.token}`, { headers: { accept: "application/json" } })).json() as { remaining_units: string; usage: { units: string } };
    expect([status.remaining_units, status.usage.units]).toEqual(["96", "4"]);
    const collectorId = init.json!.collector_id as string;
    expect(openReplica(statePaths(dir), collectorId).read().balance!.remaining_units).toBe("96");

    // Three more hours at two licenses, not yet synced: the site estimates 96 − 6 offline.
    await appendHourlyUsage(dir, 3, ownDay.intervals[3]!.end, 2, siteClock);
    const estimate = await collector(["status"]);
    expect(estimate.json).toMatchObject({ pending: 3, remaining_units: "90", estimate: { used_since_units: "6", last_known_remaining_units: "96" } });
  });
});

describe("test code takes now from testNow()", () => {
  it("no end-to-end, reliability or support file reads the real date directly", async () => {
    const dirs = ["test/e2e", "test/reliability", "test/support"];
    const offenders: string[] = [];
    for (const dir of dirs) {
      for (const entry of await readdir(join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })) {
        if (!entry.isFile() || !entry.name.endsWith(".ts") || entry.name === "test-clock.ts") continue;
        const file = join(entry.parentPath, entry.name);
        (await readFile(file, "utf8")).split("\n").forEach((line, n) => {
          if (/Date\.now\(\)|new Date\(\)/.test(line)) offenders.push(`${file.slice(REPO_ROOT.length + 1)}:${n + 1}: ${line.trim()}`);
        });
      }
    }
    // The fix: testNow() from test/support/test-clock.ts (or performance.now() for a deadline).
    expect(offenders).toEqual([]);
  });
});
