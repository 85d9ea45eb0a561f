// End to end through a hostile network: real collector processes sync through a fault-injecting
// proxy (dropped requests and responses, 502/503, duplicates, truncated bodies, delays) to a
// real local edge, and the edge ends with exactly the license-seconds of the input, each record
// applied once.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { FlexlmSimulator } from "../../scripts/flexlm-simulator.ts";
import { runCollector } from "../support/collector-process.ts";
import { EVERY_FAULT, HOSTILE_RATES, NO_FAULTS, startFaultProxy, type FaultProxy } from "../support/fault-proxy.ts";
import { edgeRequest, getBalance, provisionContract, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { testSeed } from "../support/seed.ts";
import { testNow } from "../support/test-clock.ts";

let edge: LocalEdge;
let proxy: FaultProxy;
let dir: string;

beforeAll(async () => {
  edge = await startLocalEdge();
  dir = await mkdtemp(join(tmpdir(), "tally-fault-"));
});
afterAll(async () => {
  await proxy?.close();
  await edge?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function collector(args: string[]) {
  return collectorIn(join(dir, "state"), args);
}

async function collectorIn(state: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const run = await runCollector([...args, "--state", state]);
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

it("a collector behind a lossy, duplicating, failing network ends with the exact license-seconds of its input", async () => {
  const seed = testSeed("e2e fault proxy");
  // Eleven simulated hours ending about now, in a contract that starts that day, so all of it
  // falls in the open period whatever the date the suite runs on.
  const t0 = Math.floor((testNow() - 13 * 3600_000) / 3600_000) * 3600_000;
  const contract = await provisionContract(edge, { start: new Date(t0).toISOString().slice(0, 10) });
  proxy = await startFaultProxy(edge.url, seed, {});

  // A day of a simulated FlexLM server, shut down cleanly at the end so every session is closed.
  const log = join(dir, "lmgrd.log");
  const sim = new FlexlmSimulator({ file: log, timezone: "UTC", seed });
  sim.start(t0);
  let t = t0;
  for (let i = 0; i < 2000; i++) sim.step((t += 20_000));
  sim.shutdown((t += 20_000));
  const truthSeconds = [...sim.closedLicenseMs.values()].reduce((a, b) => a + b, 0) / 1000;
  expect(truthSeconds).toBeGreaterThan(0);

  const init = await collector(["init", "--server", proxy.url, "--enroll", contract.enrollmentToken, "--site", "Fault Lab"]);
  expect(init.code, init.stderr).toBe(0);
  const backfill = await collector(["backfill", "--source", "flexlm-debuglog", "--file", log, "--timezone", "UTC", "--json"]);
  expect(backfill.code, backfill.stderr).toBe(0);

  proxy.setRates(HOSTILE_RATES);
  proxy.script([...EVERY_FAULT]);
  const quick = ["--max-records", "40", "--attempts", "4", "--backoff-base-ms", "5", "--backoff-max-ms", "40", "--timeout-ms", "10000"];
  let synced = false;
  for (let pass = 0; pass < 60 && !synced; pass++) {
    const r = await collector(["sync", ...quick]);
    expect([0, 3], r.stderr).toContain(r.code);
    synced = r.code === 0;
  }
  // Let the run converge on a clean network whatever the dice said.
  proxy.setRates(NO_FAULTS);
  const last = await collector(["sync", ...quick, "--json"]);
  expect(last.code, last.stderr).toBe(0);
  const report = JSON.parse(last.stdout) as { acked_seq: number; last_seq: number };
  expect(report.acked_seq).toBe(report.last_seq);

  const faults = proxy.counts;
  console.log(`[e2e] faults injected: ${JSON.stringify(faults)}`);
  for (const kind of EVERY_FAULT) expect(faults[kind], `${kind} in ${JSON.stringify(faults)}`).toBeGreaterThan(0);

  const balance = await getBalance<{ usage: { license_seconds: number }; collectors: Array<{ acked_seq: number }> }>(edge, contract.vendorKey, contract.contractId);
  expect(balance.usage.license_seconds).toBe(truthSeconds);
  expect(balance.collectors[0]!.acked_seq).toBe(report.acked_seq);
});

it("an enrollment whose answer is lost is retried with the same key and gets the same collector", async () => {
  const contract = await provisionContract(edge);
  const lossy = await startFaultProxy(edge.url, 1, { dropResponse: 1 });
  const state = join(dir, "state-enroll");
  try {
    const lost = await collectorIn(state, ["init", "--server", lossy.url, "--enroll", contract.enrollmentToken, "--site", "Lossy Link", "--attempts", "1", "--json"]);
    expect(lost.code, lost.stderr).toBe(3);
    expect(lossy.counts.dropResponse).toBe(1);
    lossy.setRates({ dropResponse: 0 });
    const retried = await collectorIn(state, ["init", "--server", lossy.url, "--enroll", contract.enrollmentToken, "--site", "Lossy Link", "--json"]);
    expect(retried.code, retried.stderr).toBe(0);
    const collectors = await edgeRequest<{ items: Array<{ id: string }> }>(edge, "GET", `/v1/contracts/${contract.contractId}/collectors`, contract.vendorKey);
    expect(collectors.items.map((c) => c.id)).toEqual([JSON.parse(retried.stdout).collector_id]);
  } finally {
    await lossy.close();
  }
});
