// Moving a vendor between edges, core to core (scripts/core/migrate.ts over the two edges' APIs):
// the export lists every record as its site signed it, paged, to that vendor only; `core migrate`
// archives each contract's export (chains checked) and statement, re-creates customers and
// contracts on the target, registers each site there under its id and key and replays its history
// with the source's arrival times — balances and statements, a closed period's included, equal the
// source's, and each site continues its own chain against the target. A second run re-creates nothing.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashCanonical } from "../../shared/protocol/index.ts";
import type { CoreBuild } from "../../scripts/core/build.ts";
import { coreBuild, freshSecrets, runCore, startCore, type CoreProcess } from "../support/core-process.ts";
import { EdgeApiError, edgeRequest } from "../support/local-edge.ts";
import { newContract, newTenant, postBatch, SignedSite, type Tenant } from "../support/signed-site.ts";
import { runCollector } from "../support/collector-process.ts";
import { sharedFixtures } from "../collector/sources/fixture-paths.ts";
import { recordsFromFile } from "../../collector/sources/parse-file.ts";
import { realNow } from "../support/test-clock.ts";

const tokenPlan = {
  model: "token", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" },
  rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 }, overage: { policy: "block" },
};
interface Balance { usage: { license_seconds: number; units: string }; granted_units: string | null; remaining_units: string | null }
interface ExportPage { format: string; collectors: Array<{ id: string; public_key: string; hwm: number }>; records: Array<{ collector_id: string; seq: number; hash: string; record: Record<string, unknown> }>; next_cursor: string | null }

let root: string;
let build: CoreBuild;
let a: CoreProcess;
let b: CoreProcess;
const secretsA = freshSecrets();
const secretsB = freshSecrets();
let tenant: Tenant;
let contractId: string;
const sites: SignedSite[] = [];
/** A contract that started last month (no grace): its usage from last month makes a closed period. */
let closedId: string;
let closedSite: SignedSite;
const lastMonth = (() => {
  const d = new Date(realNow()); // a core runs on the real clock (production rules)
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1));
})();
const lastMonthDate = lastMonth.toISOString().slice(0, 10);
/** A real collector (its own state dir) that backfilled a real FlexLM log into a contract from 2010. */
const ANSYS = join(sharedFixtures, "flexlm", "debuglog-justbennet-ansys.log");
const MAPLE = join(sharedFixtures, "flexlm", "debuglog-joseantoniovilar-maple.log");
let realId: string;
let realState: string;
let ansysRecords = 0;
const collector = (args: string[]) => runCollector([...args, "--state", realState, "--json"]);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-core-migrate-"));
  build = await coreBuild();
  [a, b] = await Promise.all([startCore({ data: join(root, "a"), secrets: secretsA, build }), startCore({ data: join(root, "b"), secrets: secretsB, build })]);
  const edgeA = { url: a.url, adminToken: secretsA.ADMIN_TOKEN };
  tenant = await newTenant(edgeA, "Moving Vendor");
  contractId = await newContract(edgeA, tenant, tokenPlan);
  await edgeRequest(edgeA, "POST", `/v1/contracts/${contractId}/grants`, tenant.vendorKey, { amount: "100", idempotency_key: "initial" });
  for (let s = 0; s < 2; s++) {
    const site = await SignedSite.enroll(edgeA, tenant, contractId, `plant ${s}`);
    sites.push(site);
    // 3,600 and 2 × 1,800 license-seconds: 2 tokens in all.
    for (const [n, count] of s === 0 ? [[3600, 1]] : [[900, 2], [900, 2]]) expect((await postBatch(edgeA, site, site.batch(n!, count!))).status).toBe(200);
  }
  closedId = (await edgeRequest<{ id: string }>(edgeA, "POST", "/v1/contracts", tenant.vendorKey, {
    customer_id: tenant.customerId, plan: { ...tokenPlan, overage: { policy: "allow" }, price: { mode: "graduated", tiers: [{ up_to: null, unit_price: "0.50" }] } },
    start: lastMonthDate, timezone: "UTC", statement_grace_h: 0,
  })).id;
  await edgeRequest(edgeA, "POST", `/v1/contracts/${closedId}/grants`, tenant.vendorKey, { amount: "1", idempotency_key: "initial" });
  closedSite = await SignedSite.enroll(edgeA, tenant, closedId, "plant 9", lastMonth.getTime() + 86_400_000);
  // 2 × 3,600 license-seconds of last month's usage, received this month: 2 tokens, 1 of them overage.
  for (let i = 0; i < 2; i++) expect((await postBatch(edgeA, closedSite, closedSite.batch(1800, 2))).status).toBe(200);

  realId = (await edgeRequest<{ id: string }>(edgeA, "POST", "/v1/contracts", tenant.vendorKey, { customer_id: tenant.customerId, plan: tokenPlan, start: "2010-01-01", timezone: "UTC" })).id;
  await edgeRequest(edgeA, "POST", `/v1/contracts/${realId}/grants`, tenant.vendorKey, { amount: "5000", idempotency_key: "initial" });
  const { enrollment_token } = await edgeRequest<{ enrollment_token: string }>(edgeA, "POST", `/v1/contracts/${realId}/enrollments`, tenant.vendorKey, {});
  realState = join(root, "real-site");
  expect((await collector(["init", "--server", a.url, "--enroll", enrollment_token, "--site", "ansys lab"])).status).toBe(0);
  const backfill = await collector(["backfill", "--source", "flexlm-debuglog", "--file", ANSYS, "--timezone", "UTC"]);
  expect(backfill.status, backfill.stderr).toBe(0);
  ansysRecords = Number(backfill.json!.appended);
  const sync = await collector(["sync"]);
  expect([sync.status, sync.json?.acked_seq]).toEqual([0, ansysRecords]);
}, 300_000);
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

async function exportAll(limit: number): Promise<ExportPage[]> {
  const pages: ExportPage[] = [];
  for (let cursor: string | null = null, i = 0; i === 0 || cursor; i++) {
    const page: ExportPage = await edgeRequest({ url: a.url }, "GET", `/v1/contracts/${contractId}/export?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`, tenant.vendorKey);
    pages.push(page);
    cursor = page.next_cursor;
  }
  return pages;
}

it("exports every record as its site signed it, in chain order, paged, to its vendor only", async () => {
  // The projection trails the DO by the outbox drain: wait until it holds every record.
  let pages: ExportPage[] = [];
  for (let i = 0; i < 100; i++) {
    pages = await exportAll(500);
    if (pages[0]!.collectors.every((c) => c.hwm === sites.find((s) => s.collectorId === c.id)!.records.length)) break;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  expect(pages[0]!.format).toBe("tally-contract-export/v1");
  const listed = pages.flatMap((p) => p.records);
  const expected = [...sites].sort((x, y) => x.collectorId.localeCompare(y.collectorId)).flatMap((s) => s.records);
  expect(listed.length).toBe(expected.length);
  for (const [i, r] of listed.entries()) {
    expect(r.record).toEqual(expected[i]);
    expect(r.hash).toBe(hashCanonical(expected[i]!));
  }
  expect(pages.length).toBe(Math.ceil(expected.length / 500));
  const keys = pages[0]!.collectors.map((c) => c.public_key);
  expect(new Set(keys).size).toBe(2);

  const stranger = await newTenant({ url: a.url, adminToken: secretsA.ADMIN_TOKEN }, "Other Vendor");
  const refused = await edgeRequest({ url: a.url }, "GET", `/v1/contracts/${contractId}/export`, stranger.vendorKey).catch((e: unknown) => e);
  expect((refused as EdgeApiError).status).toBe(404);
  const badCursor = await edgeRequest({ url: a.url }, "GET", `/v1/contracts/${contractId}/export?cursor=col_1`, tenant.vendorKey).catch((e: unknown) => e);
  expect((badCursor as EdgeApiError).status).toBe(422);
}, 300_000);

async function figures(edge: { url: string }, key: string, id: string): Promise<unknown> {
  const get = (path: string) => edgeRequest<Record<string, unknown>>(edge, "GET", `/v1/contracts/${id}${path}`, key);
  const balance = await get("/balance") as unknown as Balance & { overage_units: string; status: string };
  const statements = [await get(`/statement?period=${lastMonthDate}`), await get("/statement")];
  return JSON.parse(JSON.stringify({
    closed: { ...statements[0], contract_id: undefined }, open: { ...statements[1], contract_id: undefined },
    balance: { usage: balance.usage, granted: balance.granted_units, remaining: balance.remaining_units, overage: balance.overage_units, status: balance.status },
  }).replace(/grt_[0-9a-f]{32}/g, "grt"));
}

interface Moved { from: string; to: string; mode: string; records_archived: number; sites: Array<{ collector_id: string; collector_token: string | null; acked_seq: number }> }

it("core migrate replays every site's history: balances and statements (the closed period's too) equal the source's; sites continue their chains; a rerun adds nothing", async () => {
  const edgeB = { url: b.url, adminToken: secretsB.ADMIN_TOKEN };
  const target = await edgeRequest<{ api_key: string }>(edgeB, "POST", "/v1/vendors", secretsB.ADMIN_TOKEN, { name: "Moving Vendor" });
  const before = await edgeRequest<Balance>({ url: a.url }, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
  expect(before.remaining_units).toBe("98");
  // The export reads the D1 projection: wait until it holds every record of both contracts.
  for (let i = 0; i < 100; i++) {
    const page = await edgeRequest<ExportPage>({ url: a.url }, "GET", `/v1/contracts/${closedId}/export`, tenant.vendorKey);
    if (page.collectors[0]!.hwm === closedSite.records.length) break;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  const sourceFigures = await figures({ url: a.url }, tenant.vendorKey, closedId);
  const months = new Set<string>();
  for await (const r of recordsFromFile("flexlm-debuglog", ANSYS, { timezone: "UTC" })) if (r.kind === "usage") months.add(new Date(r.data.start).toISOString().slice(0, 7) + "-01");
  const monthly = (edge: { url: string }, key: string, id: string) => Promise.all([...months].sort().map(async (m) => {
    const statement = await edgeRequest<Record<string, unknown>>(edge, "GET", `/v1/contracts/${id}/statement?period=${m}`, key);
    return JSON.parse(JSON.stringify({ ...statement, contract_id: undefined }).replace(/grt_[0-9a-f]{32}/g, "grt"));
  }));
  const realSource = await monthly({ url: a.url }, tenant.vendorKey, realId);
  expect((sourceFigures as { closed: { state: string } }).closed.state).toBe("closed");

  const archive = join(root, "archive");
  const env = { SOURCE_VENDOR_KEY: tenant.vendorKey, TARGET_VENDOR_KEY: target.api_key };
  const run = await runCore(["migrate", "--from", a.url, "--to", b.url, "--archive", archive], env as never);
  expect(run.code, run.stderr).toBe(0);
  const plan = JSON.parse(readFileSync(join(archive, "migration.json"), "utf8")) as { contracts: Moved[] };
  expect(plan.contracts).toHaveLength(3);
  const moved = plan.contracts.find((c) => c.from === contractId)!;
  const movedClosed = plan.contracts.find((c) => c.from === closedId)!;
  expect([moved.mode, movedClosed.mode]).toEqual(["replayed", "replayed"]);
  expect(moved.records_archived).toBe(sites.reduce((n, s) => n + s.records.length, 0));
  expect(moved.sites.map((s) => [s.collector_id, s.acked_seq]).sort()).toEqual(sites.map((s) => [s.collectorId, s.records.length]).sort());
  for (const s of moved.sites) expect(s.collector_token).toMatch(/^tc_/);
  const archived = readFileSync(join(archive, "exports", `${contractId}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExportPage);
  expect(archived.flatMap((p) => p.records).length).toBe(moved.records_archived);

  const contract = await edgeRequest<{ plan: unknown; timezone: string }>(edgeB, "GET", `/v1/contracts/${moved.to}`, target.api_key);
  expect(contract.plan).toEqual(tokenPlan);
  const replayed = await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key);
  expect([replayed.granted_units, replayed.remaining_units, replayed.usage]).toEqual([before.granted_units, "98", before.usage]);
  expect(await figures(edgeB, target.api_key, movedClosed.to)).toEqual(sourceFigures);

  // The real site's every month (closed ones) is the same on the target; `collector move` points
  // it there and it carries on with its own chain.
  const movedReal = plan.contracts.find((c) => c.from === realId)! as Moved & { sites: Array<Record<string, unknown>> };
  expect(movedReal.mode).toBe("replayed");
  expect(await monthly(edgeB, target.api_key, movedReal.to)).toEqual(realSource);
  writeFileSync(join(root, "site-entry.json"), JSON.stringify(movedReal.sites[0]), { mode: 0o600 });
  const move = await collector(["move", "--server", b.url, "--token-file", join(root, "site-entry.json")]);
  expect(move.status, move.stderr).toBe(0);
  expect((await collector(["backfill", "--source", "flexlm-debuglog", "--file", MAPLE, "--timezone", "UTC"])).status).toBe(0);
  const synced = await collector(["sync"]);
  expect([synced.status, synced.json?.pending], synced.stderr).toEqual([0, 0]);
  expect(Number(synced.json!.acked_seq)).toBeGreaterThan(ansysRecords);
  expect((await collector(["verify"])).status).toBe(0);

  // The signed-site sites carry on too (same id, same key) against the target.
  const site = sites[0]!;
  const next = await postBatch(edgeB, site, site.batch(3600));
  expect([next.status, next.body.receipt?.acked_seq]).toEqual([200, site.records.length]);
  expect((await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key)).remaining_units).toBe("97");

  const again = await runCore(["migrate", "--from", a.url, "--to", b.url, "--archive", join(root, "archive-2")], env as never);
  expect(again.code, again.stderr).toBe(0);
  const contracts = await edgeRequest<{ items: unknown[] }>(edgeB, "GET", "/v1/contracts", target.api_key);
  expect(contracts.items).toHaveLength(3);
  expect((await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key)).remaining_units).toBe("97");
  expect(await figures(edgeB, target.api_key, movedClosed.to)).toEqual(sourceFigures);

  // Days later (the target's Idempotency-Keys expire after 24 h: dropped here) a rerun into the same
  // archive still re-creates nothing — its journal names what the first run made — and hands the
  // sites' tokens over again, which the target answers only once.
  const d1 = join(root, "b", "v3", "d1", "miniflare-D1DatabaseObject");
  const db = new DatabaseSync(join(d1, readdirSync(d1).find((f) => /^[0-9a-f]{64}\.sqlite$/.test(f))!));
  db.exec("PRAGMA busy_timeout = 5000; DELETE FROM idempotency_keys");
  db.close();
  const later = await runCore(["migrate", "--from", a.url, "--to", b.url, "--archive", archive], env as never);
  expect(later.code, later.stderr).toBe(0);
  expect((await edgeRequest<{ items: unknown[] }>(edgeB, "GET", "/v1/contracts", target.api_key)).items).toHaveLength(3);
  expect((await edgeRequest<{ items: unknown[] }>(edgeB, "GET", "/v1/customers", target.api_key)).items).toHaveLength(1);
  const replan = JSON.parse(readFileSync(join(archive, "migration.json"), "utf8")) as { contracts: Moved[] };
  const tokens = (p: { contracts: Moved[] }) => p.contracts.flatMap((c) => c.sites.map((s) => [c.to, s.collector_id, s.collector_token])).sort();
  expect(tokens(replan)).toEqual(tokens(plan));
  expect((await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key)).remaining_units).toBe("97");
  // The archive belongs to this pair of edges: another target is refused before anything is made.
  const elsewhere = await runCore(["migrate", "--from", a.url, "--to", a.url, "--archive", archive], env as never);
  expect([elsewhere.code, elsewhere.stderr]).toEqual([2, expect.stringContaining("belongs to the migration")]);
}, 300_000);
