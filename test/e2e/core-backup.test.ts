// Backup and restore of a self-hosted core (scripts/core/backup.ts, restore.ts): a backup taken
// while sites keep sending batches restores to a data dir whose every balance is exactly the one
// of a cut between two batches — never half a batch — whose D1 projection converges again (the
// restored Durable Objects' alarms run), and which, once the sites resend what came after the
// cut, ends with the very balances of the original. A damaged backup and a non-empty target are
// refused without leaving a data dir behind.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bodyToBuffer, readTar } from "../../scripts/core/tar.ts";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { CoreBuild } from "../../scripts/core/build.ts";
import { coreBuild, freshSecrets, runCore, startCore, type CoreProcess } from "../support/core-process.ts";
import { edgeRequest } from "../support/local-edge.ts";
import { newContract, newTenant, postBatch, SignedSite, type Tenant } from "../support/signed-site.ts";
import { realNow } from "../support/test-clock.ts";

interface Balance { usage: { license_seconds: number; units: string }; charges: { total: string }; collectors: Array<{ collector_id: string; acked_seq: number }> }
interface UsageRows { items: Array<{ license_seconds: number }>; next_cursor: string | null }

let root: string;
let build: CoreBuild;
let original: CoreProcess | undefined;
let restored: CoreProcess | undefined;
const secrets = freshSecrets();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-core-backup-"));
  build = await coreBuild();
}, 300_000);
afterAll(async () => {
  await original?.stop();
  await restored?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const balanceOf = (core: CoreProcess, tenant: Tenant, contractId: string) =>
  edgeRequest<Balance>({ url: core.url }, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);

/** License-seconds of the contract's history in D1 (the projection the alarms fill). */
async function projected(core: CoreProcess, tenant: Tenant, contractId: string): Promise<number> {
  // Usage is kept per hour: the range starts and ends on whole hours.
  const hour = (t: number) => new Date(Math.floor(t / 3_600_000) * 3_600_000).toISOString().slice(0, 19) + "Z";
  const from = hour(realNow() - 3 * 86_400_000), to = hour(realNow() + 2 * 3_600_000);
  let total = 0, cursor: string | null = null;
  do {
    const usage: UsageRows = await edgeRequest<UsageRows>({ url: core.url }, "GET",
      `/v1/contracts/${contractId}/usage?from=${from}&to=${to}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, tenant.vendorKey);
    total += usage.items.reduce((s, r) => s + r.license_seconds, 0);
    cursor = usage.next_cursor;
  } while (cursor);
  return total;
}

async function converged(core: CoreProcess, tenant: Tenant, contractId: string, expected: number): Promise<number> {
  let seen = -1;
  for (let i = 0; i < 150 && seen !== expected; i++) {
    seen = await projected(core, tenant, contractId);
    if (seen !== expected) await new Promise((ok) => setTimeout(ok, 200));
  }
  return seen;
}

it("a backup taken during ingest restores to a cut between batches, converges, and catches up to the same balances", async () => {
  const dataA = join(root, "a");
  original = await startCore({ data: dataA, secrets, build });
  const edgeA = { url: original.url, adminToken: secrets.ADMIN_TOKEN };
  const tenant = await newTenant(edgeA);
  const sites: SignedSite[] = [];
  for (let c = 0; c < 2; c++) {
    const contractId = await newContract(edgeA, tenant);
    for (let s = 0; s < 2; s++) sites.push(await SignedSite.enroll(edgeA, tenant, contractId, `site ${c}.${s}`));
  }
  // Every acked seq a receipt ever reported, per site: a restored hwm must be one of them.
  const boundaries = new Map(sites.map((s) => [s.collectorId, new Set([0])]));
  let ingesting = true;
  let duringBackup = 0;
  let backupRunning = false;
  const round = async (n: number) => {
    for (const [i, site] of sites.entries()) {
      const answer = await postBatch(edgeA, site, site.batch(150 + 50 * i, 1 + (n % 3)));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      boundaries.get(site.collectorId)!.add(answer.body.receipt!.acked_seq);
      if (backupRunning) duringBackup++;
    }
  };
  const ingest = (async () => {
    for (let n = 0; ingesting; n++) await round(n);
  })();
  await new Promise((ok) => setTimeout(ok, 1500));
  const file = join(root, "tally.tar.gz");
  backupRunning = true;
  const backup = await runCore(["backup", "--data", dataA, "--out", file]);
  backupRunning = false;
  ingesting = false;
  await ingest;
  await round(1); // every site has records the backup cannot have
  expect(backup.code, backup.stderr).toBe(0);
  expect(duringBackup).toBeGreaterThan(0);
  const done = backup.stderr.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === "backup_done")!;
  expect(done).toMatchObject({ mode: "online", databases: expect.any(Number) });

  // The manifest (every copy's size and hash) is the last entry: the copies are streamed in first.
  const entries: Array<{ name: string; body: Buffer }> = [];
  for await (const entry of readTar(file)) entries.push({ name: entry.name, body: await bodyToBuffer(entry.body) });
  expect(entries.at(-1)!.name).toBe("manifest.json");
  const manifest = JSON.parse(entries.at(-1)!.body.toString("utf8")) as { format: string; databases: Array<{ kind: string }>; d1_migrations: string[] };
  expect(manifest.format).toBe("tally-core-backup/v1");
  expect(manifest.databases.filter((d) => d.kind === "do").length).toBe(2);
  expect(manifest.databases.filter((d) => d.kind === "d1").length).toBe(1);
  expect(manifest.d1_migrations).toEqual(build.migrations.map((m) => m.name));

  const dataB = join(root, "b");
  const restore = await runCore(["restore", "--from", file, "--data", dataB]);
  expect(restore.code, restore.stderr).toBe(0);
  restored = await startCore({ data: dataB, secrets, build });
  const edgeB = { url: restored.url, adminToken: secrets.ADMIN_TOKEN };

  // Each restored balance is exactly the one of whole batches: the cut falls between two.
  const cut = new Map<string, number>();
  for (const contractId of new Set(sites.map((s) => s.contractId))) {
    const balance = await balanceOf(restored, tenant, contractId);
    let seconds = 0;
    for (const site of sites.filter((s) => s.contractId === contractId)) {
      const hwm = balance.collectors.find((c) => c.collector_id === site.collectorId)?.acked_seq ?? 0;
      expect(boundaries.get(site.collectorId)!.has(hwm), `${site.collectorId} restored at ${hwm}`).toBe(true);
      expect(hwm).toBeLessThan(site.records.length);
      cut.set(site.collectorId, hwm);
      seconds += site.licenseSeconds(hwm);
    }
    expect(balance.usage.license_seconds).toBe(seconds);
    // The projection converges on the restored core: its alarms run.
    expect(await converged(restored, tenant, contractId, seconds)).toBe(seconds);
  }
  expect([...cut.values()].some((hwm) => hwm > 0)).toBe(true);

  // The sites resend what the backup does not have; the restored core then matches the original.
  for (const site of sites) {
    for (let from = cut.get(site.collectorId)! + 1; from <= site.records.length; from += 2000) {
      const answer = await postBatch(edgeB, site, site.resend(from, Math.min(from + 1999, site.records.length)));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    }
  }
  for (const contractId of new Set(sites.map((s) => s.contractId))) {
    const [a, b] = [await balanceOf(original, tenant, contractId), await balanceOf(restored, tenant, contractId)];
    expect(b.usage).toEqual(a.usage);
    expect(b.charges).toEqual(a.charges);
    expect(b.collectors.map((c) => [c.collector_id, c.acked_seq])).toEqual(a.collectors.map((c) => [c.collector_id, c.acked_seq]));
    expect(await converged(restored, tenant, contractId, a.usage.license_seconds)).toBe(a.usage.license_seconds);
  }
}, 300_000);

it("an offline backup (no core running) restores too; a damaged backup or a non-empty target is refused", async () => {
  await original!.stop();
  original = undefined;
  const dataA = join(root, "a");
  const file = join(root, "offline.tar");
  const backup = await runCore(["backup", "--data", dataA, "--out", file]);
  expect(backup.code, backup.stderr).toBe(0);
  expect(backup.stderr).toContain('"mode":"offline"');
  expect(existsSync(join(dataA, "core.lock"))).toBe(false);

  expect((await runCore(["restore", "--from", file, "--data", join(root, "c")])).code).toBe(0);
  const again = await runCore(["restore", "--from", file, "--data", join(root, "c")]);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain("is not empty");

  // One flipped byte inside a database: the checksum catches it, and no data dir appears.
  const bytes = readFileSync(file);
  const at = bytes.indexOf(Buffer.from("SQLite format 3\0")) + 5000;
  bytes[at] = bytes[at]! ^ 0xff;
  const damaged = join(root, "damaged.tar");
  writeFileSync(damaged, bytes);
  const refused = await runCore(["restore", "--from", damaged, "--data", join(root, "d")]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("does not match the manifest");
  expect(existsSync(join(root, "d"))).toBe(false);
}, 300_000);
