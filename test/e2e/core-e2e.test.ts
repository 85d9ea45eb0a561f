// The product end to end on a self-hosted core instead of wrangler dev: a real collector process
// enrolls and syncs a simulated FlexLM day through the fault proxy (dropped requests and answers,
// 502s, duplicates, truncated bodies), the balance holds exactly the simulator's license-seconds,
// the customer's status page shows the site, and a vendor signs in to the console. The core runs
// production rules, so nothing here injects the clock: the simulated day ends about now, in a
// contract that starts that day.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FlexlmSimulator } from "../../scripts/flexlm-simulator.ts";
import { runCollector } from "../support/collector-process.ts";
import { EVERY_FAULT, HOSTILE_RATES, NO_FAULTS, startFaultProxy, type FaultProxy } from "../support/fault-proxy.ts";
import { edgeRequest, getBalance, provisionContract, startLocalEdge, type LocalEdge, type ProvisionedContract } from "../support/local-edge.ts";
import { testSeed } from "../support/seed.ts";
import { realNow } from "../support/test-clock.ts";

let edge: LocalEdge;
let proxy: FaultProxy | undefined;
let dir: string;
let contract: ProvisionedContract;
let truthSeconds = 0;

beforeAll(async () => {
  edge = await startLocalEdge({ runtime: "core" });
  dir = await mkdtemp(join(tmpdir(), "tally-core-e2e-"));
});
afterAll(async () => {
  await proxy?.close();
  await edge?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const collector = (args: string[]) => runCollector([...args, "--state", join(dir, "site")]);

it("runs under production rules", async () => {
  expect(edge.runtime).toBe("core");
  expect(edge.productionRules).toBe(true);
  const refused = await fetch(`${edge.url}/health`, { headers: { "X-Tally-Now": String(realNow()) } });
  expect(refused.status).toBe(400);
});

it("a collector enrolls and syncs through a faulty network: the balance holds exactly the simulated license-seconds", async () => {
  const seed = testSeed("core e2e fault proxy");
  const t0 = Math.floor((realNow() - 7 * 3600_000) / 3600_000) * 3600_000;
  contract = await provisionContract(edge, { start: new Date(t0).toISOString().slice(0, 10) });
  proxy = await startFaultProxy(edge.url, seed, {});

  const log = join(dir, "lmgrd.log");
  const sim = new FlexlmSimulator({ file: log, timezone: "UTC", seed });
  sim.start(t0);
  let t = t0;
  for (let i = 0; i < 1000; i++) sim.step((t += 20_000));
  sim.shutdown((t += 20_000));
  truthSeconds = [...sim.closedLicenseMs.values()].reduce((a, b) => a + b, 0) / 1000;
  expect(truthSeconds).toBeGreaterThan(0);

  const init = await collector(["init", "--server", proxy.url, "--enroll", contract.enrollmentToken, "--site", "Core Lab"]);
  expect(init.status, init.stderr).toBe(0);
  const backfill = await collector(["backfill", "--source", "flexlm-debuglog", "--file", log, "--timezone", "UTC", "--json"]);
  expect(backfill.status, backfill.stderr).toBe(0);
  expect(backfill.json?.appended, JSON.stringify(backfill.json)).toBeGreaterThan(0);

  proxy.setRates(HOSTILE_RATES);
  proxy.script([...EVERY_FAULT]);
  const quick = ["--max-records", "40", "--attempts", "4", "--backoff-base-ms", "5", "--backoff-max-ms", "40", "--timeout-ms", "10000"];
  let synced = false;
  for (let pass = 0; pass < 60 && !synced; pass++) {
    const r = await collector(["sync", ...quick]);
    expect([0, 3], r.stderr).toContain(r.status);
    synced = r.status === 0;
  }
  proxy.setRates(NO_FAULTS);
  const last = await collector(["sync", ...quick, "--json"]);
  expect(last.status, last.stderr).toBe(0);
  const report = last.json as { acked_seq: number; last_seq: number };
  expect(report.acked_seq).toBe(report.last_seq);
  const faults = proxy.counts;
  console.log(`[core e2e] faults injected: ${JSON.stringify(faults)}`);
  for (const kind of EVERY_FAULT) expect(faults[kind], `${kind} in ${JSON.stringify(faults)}`).toBeGreaterThan(0);

  const balance = await getBalance<{ usage: { license_seconds: number }; collectors: Array<{ acked_seq: number; site: string }> }>(edge, contract.vendorKey, contract.contractId);
  expect(balance.usage.license_seconds).toBe(truthSeconds);
  expect(balance.collectors).toEqual([expect.objectContaining({ acked_seq: report.acked_seq, site: "Core Lab" })]);
  const status = await collector(["status", "--json"]);
  expect(status.status, status.stderr).toBe(0);
});

it("the customer's status page shows the site and this period's usage", async () => {
  const link = await edgeRequest<{ url: string }>(edge, "POST", `/v1/contracts/${contract.contractId}/status-links`, contract.vendorKey, {});
  const url = new URL(link.url);
  expect(url.origin).toBe(edge.url);
  const json = await (await fetch(link.url, { headers: { accept: "application/json" } })).json() as { sites: Array<{ last_sync: string | null; stale: boolean }>; usage: { by_feature: unknown[] } };
  expect(json.sites).toHaveLength(1);
  expect(json.sites[0]!.last_sync).not.toBeNull();
  expect(json.usage.by_feature.length).toBeGreaterThan(0);
  const html = await fetch(link.url);
  expect(html.status).toBe(200);
  expect(html.headers.get("content-type")).toContain("text/html");
  expect(await html.text()).toContain("Core Lab");
});

it("a vendor signs in to the console with an API key and sees the contract; a wrong key is refused", async () => {
  const form = (key: string) => fetch(`${edge.url}/console/sign-in`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ api_key: key }), headers: { origin: edge.url },
  });
  const wrong = await form("tk_live_not-a-key");
  expect(wrong.status).toBe(401);
  const signedIn = await form(contract.vendorKey);
  expect(signedIn.status).toBe(303);
  const cookie = signedIn.headers.get("set-cookie")!.split(";")[0]!;
  expect(cookie).toMatch(/^tally_console=cs_/);
  const list = await fetch(`${edge.url}/console`, { headers: { cookie } });
  expect(list.status).toBe(200);
  expect(await list.text()).toContain(contract.contractId);
  const page = await fetch(`${edge.url}/console/contracts/${contract.contractId}`, { headers: { cookie } });
  expect(page.status).toBe(200);
  // The page's scripts are the Worker's static assets, served by the core.
  for (const asset of (await page.text()).matchAll(/\/console\/assets\/[\w.-]+\.js/g)) {
    expect((await fetch(`${edge.url}${asset[0]}`)).status, asset[0]).toBe(200);
  }
});
