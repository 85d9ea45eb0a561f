// Moving a vendor between edges, core to core (scripts/core/migrate.ts over the two edges' APIs):
// the export lists every record as its site signed it, paged, to that vendor only; `core migrate`
// archives each contract's export (chains checked) and statement, re-creates customers and
// contracts on the target with the prepaid units that remain, and hands out one enrollment token
// per site — a site enrolled with it carries on consuming from the carried balance. A second run
// re-creates nothing.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hashCanonical } from "../../shared/protocol/index.ts";
import type { CoreBuild } from "../../scripts/core/build.ts";
import { coreBuild, freshSecrets, runCore, startCore, type CoreProcess } from "../support/core-process.ts";
import { EdgeApiError, edgeRequest } from "../support/local-edge.ts";
import { newContract, newTenant, postBatch, SignedSite, type Tenant } from "../support/signed-site.ts";

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

it("core migrate moves the contract with its remaining units; a site enrolled on the target consumes from them; a rerun adds nothing", async () => {
  const edgeB = { url: b.url, adminToken: secretsB.ADMIN_TOKEN };
  const target = await edgeRequest<{ api_key: string }>(edgeB, "POST", "/v1/vendors", secretsB.ADMIN_TOKEN, { name: "Moving Vendor" });
  const before = await edgeRequest<Balance>({ url: a.url }, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
  expect(before.remaining_units).toBe("98");

  const archive = join(root, "archive");
  const env = { SOURCE_VENDOR_KEY: tenant.vendorKey, TARGET_VENDOR_KEY: target.api_key };
  const run = await runCore(["migrate", "--from", a.url, "--to", b.url, "--archive", archive], env as never);
  expect(run.code, run.stderr).toBe(0);
  const plan = JSON.parse(readFileSync(join(archive, "migration.json"), "utf8")) as { contracts: Array<{ from: string; to: string; records_archived: number; sites: Array<{ from: string; enrollment_token: string }> }> };
  expect(plan.contracts).toHaveLength(1);
  const moved = plan.contracts[0]!;
  expect(moved.from).toBe(contractId);
  expect(moved.records_archived).toBe(sites.reduce((n, s) => n + s.records.length, 0));
  expect(moved.sites.map((s) => s.from).sort()).toEqual(sites.map((s) => s.collectorId).sort());
  const archived = readFileSync(join(archive, "exports", `${contractId}.jsonl`), "utf8").trim().split("\n").map((l) => JSON.parse(l) as ExportPage);
  expect(archived.flatMap((p) => p.records).length).toBe(moved.records_archived);

  const contract = await edgeRequest<{ plan: unknown; timezone: string }>(edgeB, "GET", `/v1/contracts/${moved.to}`, target.api_key);
  expect(contract.plan).toEqual(tokenPlan);
  const carried = await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key);
  expect(carried.granted_units).toBe("98");
  expect(carried.remaining_units).toBe("98");

  const site = await SignedSite.enrollWith(edgeB, moved.sites[0]!.enrollment_token, moved.to, "plant 0 (moved)");
  expect((await postBatch(edgeB, site, site.batch(3600))).status).toBe(200);
  expect((await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key)).remaining_units).toBe("97");

  const again = await runCore(["migrate", "--from", a.url, "--to", b.url, "--archive", join(root, "archive-2")], env as never);
  expect(again.code, again.stderr).toBe(0);
  const contracts = await edgeRequest<{ items: unknown[] }>(edgeB, "GET", "/v1/contracts", target.api_key);
  expect(contracts.items).toHaveLength(1);
  expect((await edgeRequest<Balance>(edgeB, "GET", `/v1/contracts/${moved.to}/balance`, target.api_key)).granted_units).toBe("98");
}, 300_000);
