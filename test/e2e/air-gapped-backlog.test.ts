// An air-gapped site's whole backlog in one trip, against a real local edge (wrangler dev) and a
// real collector process: `export` writes every pending record as several bundles (a small
// --max-bytes makes a few hundred records need several, as 16 MiB makes a million records need
// ~25), they are uploaded in order from the connected machine with no reply needed in between,
// and `import-receipt` takes all the replies at once, in any order. A bundle uploaded out of
// order is refused with a stable code and changes nothing; one uploaded twice is answered again
// (a replay); a reply that never comes back costs nothing once a later one is imported.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCollector } from "../support/collector-process.ts";
import { getBalance, provisionContract, startLocalEdge, type LocalEdge, type ProvisionedContract } from "../support/local-edge.ts";
import { appendHourlyUsage } from "../support/site-usage.ts";
import { testNow, utcDate } from "../support/test-clock.ts";

const HOUR = 3600_000;
const T0 = Math.floor(testNow() / HOUR) * HOUR - 8 * 24 * HOUR;
const START = utcDate(T0);
let edge: LocalEdge;
let root: string;

beforeAll(async () => {
  edge = await startLocalEdge();
  root = await mkdtemp(join(tmpdir(), "tally-e2e-airgap-backlog-"));
});
afterAll(async () => {
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const collector = (dir: string, args: string[]) => runCollector([...args, "--state", dir, "--json"]);

async function enrolledSite(name: string, contract: ProvisionedContract): Promise<{ dir: string; collectorId: string }> {
  const dir = join(root, name);
  const run = await collector(dir, ["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", name]);
  expect(run.status, run.stderr).toBe(0);
  return { dir, collectorId: (await collector(dir, ["status"])).json!.collector_id as string };
}

/** POSTs a bundle file unchanged, as the connected machine does; the reply is kept in `<file>.reply`. */
async function upload(collectorId: string, file: string, reply = `${file}.reply`): Promise<{ status: number; body: any; reply: string }> {
  const res = await fetch(`${edge.url}/v1/collectors/${collectorId}/bundles`, { method: "POST", headers: { "content-type": "application/json" }, body: await readFile(file) });
  const text = await res.text();
  await writeFile(reply, text);
  return { status: res.status, body: JSON.parse(text), reply };
}

async function ackedAtEdge(contract: ProvisionedContract): Promise<number> {
  return (await getBalance<any>(edge, contract.vendorKey, contract.contractId)).collectors[0]?.acked_seq ?? 0;
}

describe("an air-gapped backlog bigger than one bundle", () => {
  it("goes in one trip: bundles uploaded in order, one out of order refused and one twice answered, all replies imported at once in any order", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const { dir, collectorId } = await enrolledSite("backlog", contract);
    await appendHourlyUsage(dir, 40, T0);
    expect((await collector(dir, ["rotate-key"])).json).toMatchObject({ rotation_seq: 41 });
    await appendHourlyUsage(dir, 40, T0 + 40 * HOUR);

    const exported = await collector(dir, ["export", "--out", join(root, "backlog.json"), "--max-bytes", "8192"]);
    expect(exported.json).toMatchObject({ ok: true, records: 81, first_seq: 1, last_seq: 81 });
    const bundles = exported.json!.bundles as { file: string; first_seq: number; last_seq: number }[];
    expect(bundles.length).toBeGreaterThanOrEqual(3);
    const last = bundles.at(-1)!;

    // Out of order, before the bundles it continues: refused with a stable code, nothing applied.
    // Past the key rotation, the edge cannot yet know the key that signed it: bad_signature, not gap.
    const early = await upload(collectorId, bundles[1]!.file, join(root, "early-2.reply"));
    expect([early.status, early.body.error, early.body.expected_seq, early.body.receipts]).toEqual([409, "gap", 1, []]);
    const lateKey = await upload(collectorId, last.file, join(root, "early-last.reply"));
    expect([lateKey.status, lateKey.body.error, lateKey.body.receipts]).toEqual([401, "bad_signature", []]);
    expect(await ackedAtEdge(contract)).toBe(0);

    const replies: string[] = [];
    for (const b of bundles) {
      const r = await upload(collectorId, b.file);
      expect([r.status, r.body.receipts.at(-1).receipt.acked_seq]).toEqual([200, b.last_seq]);
      replies.push(r.reply);
    }
    // Uploaded twice: a replay, answered with the edge's current head, changing nothing.
    const twice = await upload(collectorId, bundles[0]!.file, join(root, "twice.reply"));
    expect(twice.status).toBe(200);
    expect(twice.body.receipts.map((r: any) => r.receipt.acked_seq)).toEqual(twice.body.receipts.map(() => 81));
    expect(await ackedAtEdge(contract)).toBe(81);

    // Every reply of the trip in one call, newest first, with the refused and the repeated ones.
    const imported = await collector(dir, ["import-receipt", ...[...replies].reverse(), twice.reply, early.reply, lateKey.reply]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, acked_seq: 81, pending: 0, edge_error: { error: "gap" } });
    const perFile = imported.json!.replies as { file: string; imported: number; edge_error: unknown }[];
    expect(perFile.slice(0, bundles.length).map((r) => r.file)).toEqual(replies); // imported in chain order
    expect(imported.json!.imported).toBe((exported.json!.batches as number));
    expect((await collector(dir, ["verify"])).status).toBe(0);
    expect((await collector(dir, ["status"])).json!.last_export).toMatchObject({ bundles: bundles.length, last_seq: 81, awaiting_replies: [] });
    const balance = await getBalance<any>(edge, contract.vendorKey, contract.contractId);
    expect([balance.collectors[0].acked_seq, balance.usage.license_seconds]).toEqual([81, 80 * 3600]);
  });

  it("a reply that never comes back breaks none of the others: imported one at a time, a later reply receipts what the missing one would have", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const { dir, collectorId } = await enrolledSite("missing", contract);
    await appendHourlyUsage(dir, 60, T0);
    const exported = await collector(dir, ["export", "--out", join(root, "missing.json"), "--max-bytes", "8192"]);
    const bundles = exported.json!.bundles as { file: string; last_seq: number }[];
    expect(bundles.length).toBeGreaterThanOrEqual(3);
    const replies: string[] = [];
    for (const b of bundles) replies.push((await upload(collectorId, b.file)).reply);

    // Every file is read first: one that is not there refuses the call before anything is imported.
    const typo = await collector(dir, ["import-receipt", replies[0]!, join(root, "no-such.reply")]);
    expect([typo.status, typo.json?.error, (await collector(dir, ["status"])).json!.acked_seq]).toEqual([2, "bad_input", 0]);
    const first = await collector(dir, ["import-receipt", replies[0]!]);
    expect(first.json).toMatchObject({ ok: true, acked_seq: bundles[0]!.last_seq, pending: 60 - bundles[0]!.last_seq });
    expect((await collector(dir, ["status"])).json!.last_export).toMatchObject({ awaiting_replies: bundles.slice(1).map((b) => b.file) });

    // The second reply is lost; the last one proves the whole chain through its head.
    const lastOnly = await collector(dir, ["import-receipt", replies.at(-1)!]);
    expect(lastOnly.json).toMatchObject({ ok: true, acked_seq: 60, pending: 0 });
    expect((await collector(dir, ["status"])).json!.last_export).toMatchObject({ awaiting_replies: [] });
    // Found after all: verified and skipped, nothing changes.
    const late = await collector(dir, ["import-receipt", replies[1]!]);
    expect(late.json).toMatchObject({ ok: true, imported: 0, acked_seq: 60 });
    expect(late.json!.already_receipted).toBeGreaterThan(0);
    expect((await collector(dir, ["verify"])).status).toBe(0);
  });
});
