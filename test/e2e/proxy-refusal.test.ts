// A 401 or 403 the edge did not write — a corporate proxy's policy page, a WAF challenge — is not
// the edge refusing this collector: it carries none of the edge's stable codes (`bad_signature`,
// `unknown_collector`, `revoked`, `collector_mismatch`). It fails that sync with a code of its own
// and raises no trust flag, so the next sync, once the network lets it through, goes on by itself
// instead of waiting for a person to run `sync --resolved`. The daemon does not count such an answer
// as the edge reached: its status says the edge is unreachable and why, and tally_collector_edge_up
// stays 0.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCollector } from "../support/collector-process.ts";
import { startHttpProxy, type TestProxy } from "../support/http-proxy.ts";
import { getBalance, provisionContract, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { appendHourlyUsage } from "../support/site-usage.ts";
import { testNow, utcDate } from "../support/test-clock.ts";

const HOUR = 3600_000;
const T0 = Math.floor(testNow() / HOUR) * HOUR - 2 * 24 * HOUR;
const BLOCK_PAGE = "<html><body><h1>403 Forbidden</h1>Access to this site is blocked by your organisation's policy.</body></html>";

let edge: LocalEdge;
let proxy: TestProxy;
let root: string;
let blocking: { status: number } | null = null;

beforeAll(async () => {
  edge = await startLocalEdge();
  proxy = await startHttpProxy({
    answer: (seen) => (blocking && seen.method === "POST" && seen.target.endsWith("/batches")
      ? { status: blocking.status, contentType: "text/html", body: BLOCK_PAGE }
      : undefined),
  });
  root = await mkdtemp(join(tmpdir(), "tally-e2e-proxy-refusal-"));
});
afterAll(async () => {
  await proxy?.stop();
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe("a refusal the edge did not write", () => {
  it.each([403, 401])("an HTML %i from a proxy fails the sync without a trust flag; the next sync receipts everything", async (status) => {
    const contract = await provisionContract(edge, { start: utcDate(T0), timezone: "UTC" });
    const dir = join(root, `site-${status}`);
    const env = { HTTP_PROXY: proxy.url, HTTPS_PROXY: "", NO_PROXY: "" };
    const collector = (args: string[]) => runCollector([...args, "--state", dir, "--json"], { env });
    expect((await collector(["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", `proxied ${status}`])).status).toBe(0);
    await appendHourlyUsage(dir, 12, T0);

    blocking = { status };
    const blocked = await collector(["sync", "--attempts", "1"]);
    blocking = null;
    expect(blocked.status).toBe(1);
    expect(blocked.json).toMatchObject({ ok: false, error: "batch_refused" });
    expect(String(blocked.json?.message)).toContain(`HTTP ${status}`);
    expect(JSON.parse(await readFile(join(dir, "flags.json"), "utf8").catch(() => '{"flags":[]}')).flags).toEqual([]);

    const next = await collector(["sync"]);
    expect(next.status, next.stderr).toBe(0);
    expect(next.json).toMatchObject({ ok: true, acked_seq: 12, pending: 0 });
    const balance = await getBalance<any>(edge, contract.vendorKey, contract.contractId);
    expect(balance.usage.license_seconds).toBe(12 * 3600);
  });

  it("the daemon behind that proxy: the edge is not counted as reached, and status names the refusal", async () => {
    const contract = await provisionContract(edge, { start: utcDate(T0), timezone: "UTC" });
    const dir = join(root, "site-daemon");
    const env = { HTTP_PROXY: proxy.url, HTTPS_PROXY: "", NO_PROXY: "" };
    const collector = (args: string[], json = true) => runCollector([...args, "--state", dir, ...(json ? ["--json"] : [])], { env });
    expect((await collector(["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", "proxied daemon"])).status).toBe(0);
    await appendHourlyUsage(dir, 6, T0);
    await writeFile(join(dir, "usage.jsonl"), "");
    const config = join(dir, "collector.json");
    await writeFile(config, JSON.stringify({ sources: [{ name: "app", kind: "jsonl", file: "usage.jsonl" }] }));

    blocking = { status: 403 };
    const blocked = await collector(["run", "--config", config, "--once"]);
    blocking = null;
    expect(blocked.status, blocked.stderr).toBe(0);
    const status = await collector(["status"]);
    expect(status.json).toMatchObject({ daemon: { sync: { online: false, last_success: null, last_error: { code: "batch_refused" } } } });
    const text = (await collector(["status"], false)).stdout;
    expect(text).toMatch(/^sync: edge unreachable since start \(batch 1…\d+ answered HTTP 403 without an edge error code/m);

    expect((await collector(["run", "--config", config, "--once"])).status).toBe(0);
    expect((await collector(["status"])).json).toMatchObject({ daemon: { sync: { online: true, last_error: null } } });
    expect((await collector(["status"], false)).stdout).toMatch(/^sync: edge reachable$/m);
    const balance = await getBalance<any>(edge, contract.vendorKey, contract.contractId);
    expect(balance.usage.license_seconds).toBe(6 * 3600);
  });
});
