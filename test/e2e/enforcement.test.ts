// Site-side enforcement end to end (issue #14): a real collector process (`run --once`) against a
// local edge, a contract whose overage policy is `block`, an options file with CRLF endings, and a
// real shell script in place of lmreread that records its calls. Blocked → block written and
// reread once; the same again → nothing; a top-up → block removed (original bytes) and reread.
// The edge stores the enforcement records unbilled and lists them (vendor API, status page).
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCollector } from "../support/collector-process.ts";
import { edgeRequest, getBalance, payPerUsePlan, provisionContract, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { appendHourlyUsage } from "../support/site-usage.ts";
import { testNow, utcDate } from "../support/test-clock.ts";

const HOUR = 3600_000;
// Usage three hours from a whole hour two days back, in a contract starting that day: inside the
// open period whatever the date (test/support/test-clock.ts).
const T0 = Math.floor(testNow() / HOUR) * HOUR - 48 * HOUR;
const SITE_OPTIONS = "# MLM options\r\nGROUP eng ada bob\r\nRESERVE 1 MATLAB USER ada\r\n";
let edge: LocalEdge;
let root: string;

beforeAll(async () => {
  edge = await startLocalEdge();
  root = await mkdtemp(join(tmpdir(), "tally-e2e-enforce-"));
});
afterAll(async () => {
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

it("blocked → EXCLUDE block + one reread; unchanged → nothing; topped up → block removed + reread; the edge lists both records, unbilled", async () => {
  const contract = await provisionContract(edge, { start: utcDate(T0), timezone: "UTC", plan: payPerUsePlan({ overage: { policy: "block", limit_units: "0" } }) });
  const state = join(root, "state");
  const collector = (args: string[]) => runCollector([...args, "--state", state, "--json"]);
  expect((await collector(["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", "Plant 3"])).status).toBe(0);
  await appendHourlyUsage(state, 3, T0);

  const optionsFile = join(root, "MLM.opt");
  await writeFile(optionsFile, SITE_OPTIONS);
  const calls = join(root, "calls.txt");
  const lmreread = join(root, "lmreread");
  await writeFile(lmreread, `#!/bin/sh\necho "$*" >> "${calls}"\necho "lmreread successful"\n`);
  await chmod(lmreread, 0o755);
  await writeFile(join(root, "usage.jsonl"), "");
  const config = join(root, "collector.json");
  await writeFile(config, JSON.stringify({
    sources: [{ name: "app", kind: "jsonl", file: "usage.jsonl" }],
    enforce: { kind: "flexlm", options_file: "MLM.opt", reread: [lmreread, "-c", "/opt/flexlm/license.dat"], reread_timeout_s: 30 },
  }));
  const runOnce = async () => {
    const run = await collector(["run", "--config", config, "--once"]);
    expect(run.status, run.stderr).toBe(0);
  };
  const callLines = async () => (await readFile(calls, "utf8").catch(() => "")).split("\n").filter((l) => l !== "");

  await runOnce();
  expect((await getBalance<{ status: string }>(edge, contract.vendorKey, contract.contractId)).status).toBe("blocked");
  expect(await readFile(optionsFile, "latin1")).toBe(`${SITE_OPTIONS}# BEGIN tally enforcement\r\nEXCLUDE MATLAB INTERNET *.*.*.*\r\n# END tally enforcement\r\n`);
  expect(await callLines()).toEqual(["-c /opt/flexlm/license.dat"]);
  const status = await collector(["status"]);
  expect(status.json).toMatchObject({ enforcement: { kind: "flexlm", contract_status: "blocked", excluded: ["MATLAB"], reread_pending: false, last_error: null } });

  await runOnce();
  expect(await callLines()).toHaveLength(1);

  await edgeRequest(edge, "POST", `/v1/contracts/${contract.contractId}/grants`, contract.vendorKey, { amount: "100", idempotency_key: "top-up-1" });
  await runOnce();
  expect(await readFile(optionsFile, "latin1")).toBe(SITE_OPTIONS);
  expect(await callLines()).toHaveLength(2);

  await runOnce(); // sends the unblock record
  const listed = await edgeRequest<{ items: Array<Record<string, unknown>> }>(edge, "GET", `/v1/contracts/${contract.contractId}/enforcement`, contract.vendorKey);
  expect(listed.items.map((i) => [i.action, i.features, i.result, i.site])).toEqual([["unblock", ["MATLAB"], "applied", "Plant 3"], ["block", ["MATLAB"], "applied", "Plant 3"]]);
  const balance = await getBalance<{ status: string; usage: { license_seconds: number } }>(edge, contract.vendorKey, contract.contractId);
  expect(balance).toMatchObject({ status: "ok", usage: { license_seconds: 3 * 3600 } });

  const link = await edgeRequest<{ url: string }>(edge, "POST", `/v1/contracts/${contract.contractId}/status-links`, contract.vendorKey, {});
  const page = await fetch(link.url, { headers: { Accept: "application/json" } }).then((r) => r.json()) as { enforcement: unknown[] };
  expect(page.enforcement).toEqual([
    expect.objectContaining({ site: "Plant 3", action: "unblock", features: ["MATLAB"], result: "applied" }),
    expect.objectContaining({ site: "Plant 3", action: "block", features: ["MATLAB"], result: "applied" }),
  ]);

  // The vendor console shows the same log on the contract's page, newest first.
  const signIn = await fetch(`${edge.url}/console/sign-in`, {
    method: "POST", redirect: "manual", body: new URLSearchParams({ api_key: contract.vendorKey }),
    headers: { Origin: edge.url, "Content-Type": "application/x-www-form-urlencoded" },
  });
  expect(signIn.status).toBe(303);
  const cookie = (signIn.headers.get("Set-Cookie") ?? "").split(";")[0]!;
  const html = await (await fetch(`${edge.url}/console/contracts/${contract.contractId}`, { headers: { Cookie: cookie } })).text();
  const section = html.slice(html.indexOf('id="enforcement-h"'), html.indexOf("</section>", html.indexOf('id="enforcement-h"')));
  const rows = [...section.matchAll(/<tr><th scope="row">([^<]*)<\/th>.*?<\/td><td>.*?<\/span> (\w+)<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td><\/tr>/g)].map((m) => m.slice(1));
  expect(rows).toEqual([["Plant 3", "unblock", "MATLAB", "applied"], ["Plant 3", "block", "MATLAB", "applied"]]);
});
