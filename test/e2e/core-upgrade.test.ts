// Upgrading a self-hosted core: a data dir made and filled by an older Tally (built from an earlier
// commit of this repository, before pricing and the console existed) is served by the current
// build, which applies the D1 migrations the old one never had and lets each ContractDO migrate
// its storage: every balance and chain survives, the new tables are there and work. The old build
// then refuses the upgraded dir rather than run on data it does not understand.
import { execFileSync } from "node:child_process";
import { readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureBuild, type CoreBuild } from "../../scripts/core/build.ts";
import { coreBuild, freshSecrets, runCore, startCore, type CoreProcess } from "../support/core-process.ts";
import { edgeRequest, REPO_ROOT } from "../support/local-edge.ts";
import { newContract, newTenant, postBatch, SignedSite } from "../support/signed-site.ts";

/** "WIP: collector sync/CLI/daemon …": two D1 migrations and two ContractDO storage steps, no pricing. */
const OLD_COMMIT = "ec3cae5ae725038e4f5cd11367fb8337be813c52";

interface Balance {
  usage: { license_seconds: number; units?: string }; granted_units?: string | null;
  collectors: Array<{ collector_id: string; acked_seq: number }>; rerating?: { done: number; total: number };
}
/** DO tables a later storage step drops on purpose: the skeleton's `feature_usage` (the live ledger replaced it). */
const DROPPED_DO_TABLES = new Set(["feature_usage"]);

let root: string;
let oldBuild: CoreBuild;
let newBuild: CoreBuild;
let core: CoreProcess | undefined;
/** License-seconds in the balance of the migrated contract, before and after the upgrade. */
let upgraded: { before: number; after: number } | undefined;
const secrets = freshSecrets();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "tally-core-upgrade-"));
  const tree = join(root, "old-tree");
  execFileSync("mkdir", [tree]);
  try {
    execFileSync("git", ["-C", REPO_ROOT, "rev-parse", "--verify", `${OLD_COMMIT}^{commit}`], { stdio: "pipe" });
  } catch {
    throw new Error(`the upgrade test builds Tally as of commit ${OLD_COMMIT}, which this clone does not have (a shallow clone?): fetch the history`);
  }
  execFileSync("sh", ["-c", `git -C '${REPO_ROOT}' archive ${OLD_COMMIT} | tar -x -C '${tree}'`]);
  // Its dependencies are a subset of today's at the same versions: the current node_modules builds it.
  symlinkSync(join(REPO_ROOT, "node_modules"), join(tree, "node_modules"));
  // That commit's production bundle evaluated shared/protocol's zod schemas before
  // @hono/zod-openapi extended zod, and failed at start ("zodSchema.openapi is not a function";
  // its tests ran in another module order). Importing the extension first is the one change made
  // to it: its storage, migrations and API are untouched.
  const index = join(tree, "worker/index.ts");
  writeFileSync(index, `import "@hono/zod-openapi";\n${readFileSync(index, "utf8")}`);
  oldBuild = await ensureBuild({ root: tree, cacheDir: join(REPO_ROOT, "dist/core"), say: () => undefined });
  newBuild = await coreBuild();
}, 300_000);
afterAll(async () => {
  await core?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function sqlite(path: string): DatabaseSync {
  return new DatabaseSync(path, { readOnly: true });
}
function d1File(data: string): string {
  const dir = join(data, "v3/d1/miniflare-D1DatabaseObject");
  return join(dir, readdirSync(dir).find((f) => f !== "metadata.sqlite" && f.endsWith(".sqlite"))!);
}
function doFiles(data: string): string[] {
  const dir = join(data, "v3/do/tally-edge-ContractDO");
  return readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f)).map((f) => join(dir, f));
}
const tables = (db: DatabaseSync) => new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>).map((r) => r.name));
/** The tables a build's migrations leave in place: created by one, and not dropped by a later one. */
const createdTables = (build: CoreBuild) => {
  const live = new Set<string>();
  for (const statement of build.migrations.flatMap((m) => m.statements)) {
    const s = statement.replace(/^(\s*--[^\n]*\n)+/, "").trim(); // drizzle's breakpoints and comments lead some statements
    const created = /^CREATE TABLE\s+(?:IF NOT EXISTS\s+)?[`"]?(\w+)[`"]?/i.exec(s)?.[1];
    const dropped = /^DROP TABLE\s+(?:IF EXISTS\s+)?[`"]?(\w+)[`"]?/i.exec(s)?.[1];
    if (created) live.add(created);
    if (dropped) live.delete(dropped);
  }
  return [...live];
};

it("a data dir of an older Tally is migrated forward: chains, records and sync state intact, new tables present and working, downgrade refused", async () => {
  const newMigrations = newBuild.migrations.map((m) => m.name).filter((n) => !oldBuild.migrations.some((o) => o.name === n));
  expect(newMigrations.length).toBeGreaterThan(0);
  const data = join(root, "data");

  // The old version: a contract, two sites, usage.
  core = await startCore({ data, secrets, build: oldBuild });
  expect(core.lines().find((l) => l.event === "started")).toMatchObject({ build: { source_hash: oldBuild.source_hash }, migrations_applied: oldBuild.migrations.map((m) => m.name) });
  let edge = { url: core.url, adminToken: secrets.ADMIN_TOKEN };
  const tenant = await newTenant(edge, "Upgrade Vendor");
  const contractId = await newContract(edge, tenant);
  const sites = [await SignedSite.enroll(edge, tenant, contractId, "old a"), await SignedSite.enroll(edge, tenant, contractId, "old b")];
  for (const [i, site] of sites.entries()) {
    for (let b = 0; b < 3; b++) expect((await postBatch(edge, site, site.batch(100 + 37 * i, 1 + b))).status).toBe(200);
  }
  const before = await edgeRequest<Balance>(edge, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
  expect(before.usage.license_seconds).toBe(sites[0]!.licenseSeconds() + sites[1]!.licenseSeconds());
  expect(await core.stop()).toEqual({ code: 0, signal: null });

  const oldD1 = sqlite(d1File(data));
  const oldD1Tables = tables(oldD1);
  expect((oldD1.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as Array<{ name: string }>).map((r) => r.name)).toEqual(oldBuild.migrations.map((m) => m.name));
  oldD1.close();
  const [doPath] = doFiles(data);
  const oldDo = sqlite(doPath!);
  const oldDoTables = tables(oldDo);
  const oldVersion = (oldDo.prepare("SELECT version FROM schema_version").get() as { version: number }).version;
  oldDo.close();

  // The current version on the same dir.
  core = await startCore({ data, secrets, build: newBuild });
  expect(core.lines().find((l) => l.event === "started")).toMatchObject({ build: { source_hash: newBuild.source_hash }, migrations_applied: newMigrations });
  edge = { url: core.url, adminToken: secrets.ADMIN_TOKEN };
  // The usage stored before pricing is rated by the DO's alarm after its storage migration; until
  // then the balance carries `rerating`. Wait for it (bounded, so a stuck re-rating fails here).
  let after = await edgeRequest<Balance>(edge, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
  for (let tries = 0; after.rerating !== undefined && tries < 600; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await edgeRequest<Balance>(edge, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
  }
  expect(after.rerating).toBeUndefined();
  upgraded = { before: before.usage.license_seconds, after: after.usage.license_seconds };
  expect(after.collectors.map((c) => [c.collector_id, c.acked_seq])).toEqual(before.collectors.map((c) => [c.collector_id, c.acked_seq]));

  // What the old version did not have works on the old contract: grants, rating of new usage, the console.
  await edgeRequest(edge, "POST", `/v1/contracts/${contractId}/grants`, tenant.vendorKey, { amount: "100", idempotency_key: "after-upgrade" });
  expect((await postBatch(edge, sites[0]!, sites[0]!.batch(3600))).status).toBe(200);
  const rated = await edgeRequest<Balance>(edge, "GET", `/v1/contracts/${contractId}/balance`, tenant.vendorKey);
  expect(rated.granted_units).toBe("100");
  expect(Number(rated.usage.units)).toBeGreaterThanOrEqual(1); // 3,600 new license-seconds at 1 unit per hour
  expect(rated.usage.license_seconds).toBe(after.usage.license_seconds + 3600);
  const signIn = await fetch(`${core.url}/console/sign-in`, { method: "POST", body: new URLSearchParams({ api_key: tenant.vendorKey }), redirect: "manual", headers: { origin: core.url } });
  expect(signIn.status).toBe(303);
  // A contract made after the upgrade sits beside the migrated one.
  const fresh = await newContract(edge, tenant);
  const site = await SignedSite.enroll(edge, tenant, fresh);
  expect((await postBatch(edge, site, site.batch(10))).status).toBe(200);
  expect(await core.stop()).toEqual({ code: 0, signal: null });

  const newD1 = sqlite(d1File(data));
  expect((newD1.prepare("SELECT name FROM d1_migrations ORDER BY id").all() as Array<{ name: string }>).map((r) => r.name)).toEqual(newBuild.migrations.map((m) => m.name));
  const newD1Tables = tables(newD1);
  newD1.close();
  for (const t of createdTables(newBuild)) expect(newD1Tables.has(t), `D1 table ${t}`).toBe(true);
  expect([...newD1Tables].filter((t) => !oldD1Tables.has(t)).length).toBeGreaterThan(0);
  const migratedDo = sqlite(doPath!);
  const newDoTables = tables(migratedDo);
  // Every record the old version receipted is still stored, with its chain.
  expect((migratedDo.prepare("SELECT count(*) AS n FROM records").get() as { n: number }).n).toBe(sites[0]!.records.length + sites[1]!.records.length);
  expect((migratedDo.prepare("SELECT version FROM schema_version").get() as { version: number }).version).toBeGreaterThan(oldVersion);
  migratedDo.close();
  for (const t of oldDoTables) expect(newDoTables.has(t), `DO table ${t} ${DROPPED_DO_TABLES.has(t) ? "dropped" : "kept"}`).toBe(!DROPPED_DO_TABLES.has(t));
  expect([...newDoTables].filter((t) => !oldDoTables.has(t)).length).toBeGreaterThan(0);

  // Going back is refused: the old build does not know the new migrations.
  const downgrade = await runCore(["--data", data, "--port", "0", "--build", oldBuild.dir], secrets);
  expect(downgrade.code).toBe(2);
  expect(downgrade.stderr).toContain("newer Tally");
}, 300_000);

// Usage received before the pricing step counts after the upgrade: the stored-usage storage step
// (stored-usage-rating.ts) queues each collector's records stored before its first rated interval,
// and the alarm rates them into the live ledger (the test above waits for that re-rating to end).
it("usage received before the pricing step still counts in the balance after the upgrade", () => {
  expect(upgraded).toBeDefined();
  expect(upgraded!.after).toBe(upgraded!.before);
});
