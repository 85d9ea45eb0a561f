// The site face against a real local edge (wrangler dev): the air-gapped round trip (export →
// upload from another process → import-receipt frees exactly the receipted segments), key
// rotation in the middle of a backlog, revocation, a week offline with site-side doc edits that
// merge cleanly, and `status` estimating offline with the edge stopped. And a backlog bigger than
// one bundle in one trip: `export` writes every pending record as several bundles (a small
// --max-bytes makes a few hundred records need several, as 16 MiB makes a million records need
// ~25), they are uploaded in order from the connected machine with no reply needed in between,
// and `import-receipt` takes all the replies at once, in any order. A bundle uploaded out of
// order is refused with a stable code and changes nothing; one uploaded twice is answered again
// (a replay); a reply that never comes back costs nothing once a later one is imported. `upload`
// does the connected machine's part: the files in chain order, each reply written beside its bundle.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openReplica } from "../../collector/contract-doc/replica-file.ts";
import { statePaths } from "../../collector/state/state-dir.ts";
import { signReceipt } from "../../shared/protocol/index.ts";
import { runCollector } from "../support/collector-process.ts";
import { startHttpProxy } from "../support/http-proxy.ts";
import { createEnrollment, edgeRequest, getBalance, provisionContract, startLocalEdge, type LocalEdge, type ProvisionedContract } from "../support/local-edge.ts";
import { appendHourlyUsage } from "../support/site-usage.ts";
import { testNow, utcDate } from "../support/test-clock.ts";

const HOUR = 3600_000;
// Every scenario's usage starts at T0, a whole hour eight days before now (the test clock: see
// test/support/test-clock.ts), in a contract that starts on T0's date: the week offline ends
// before now, and all of it lies in the contract's open period whatever the date.
const T0 = Math.floor(testNow() / HOUR) * HOUR - 8 * 24 * HOUR;
const START = utcDate(T0);
let edge: LocalEdge;
let root: string;

beforeAll(async () => {
  edge = await startLocalEdge();
  root = await mkdtemp(join(tmpdir(), "tally-e2e-airgap-"));
});
afterAll(async () => {
  await edge?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const collector = (dir: string, args: string[]) => runCollector([...args, "--state", dir, "--json"]);

async function enrolledSite(name: string, contract: ProvisionedContract, token = contract.enrollmentToken): Promise<string> {
  const dir = join(root, name);
  const run = await collector(dir, ["init", "--server", edge.url, "--enroll", token, "--site", name]);
  expect(run.status, run.stderr).toBe(0);
  return dir;
}

/** Segment files' first seqs (seg-<first seq>.log), ascending. */
async function segmentStarts(dir: string): Promise<number[]> {
  return (await readdir(join(dir, "log"))).filter((n) => /^seg-\d+\.log$/.test(n)).map((n) => Number(n.slice(4, -4))).sort((a, b) => a - b);
}

/** The segments that must remain once everything ≤ acked is receipted: the current one, and every one holding a seq above acked. */
function retainedAfter(starts: number[], acked: number): number[] {
  return starts.filter((s, i) => i === starts.length - 1 || starts[i + 1]! - 1 > acked);
}

/** Uploads a bundle file from a separate Node process (the connected machine), writing the reply to `replyFile`. */
function uploadFromAnotherProcess(url: string, bundleFile: string, replyFile: string): Promise<number> {
  const script = `
    const { readFile, writeFile } = await import("node:fs/promises");
    const res = await fetch(process.argv[1], { method: "POST", headers: { "content-type": "application/json" }, body: await readFile(process.argv[2]) });
    await writeFile(process.argv[3], await res.text());
    console.log(res.status);`;
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, url, bundleFile, replyFile], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.once("error", fail);
    child.once("close", (code) => (code === 0 ? ok(Number(out.trim())) : fail(new Error(`uploader exited ${code}`))));
  });
}

describe("the air-gapped site", () => {
  it("export → upload elsewhere → import-receipt frees exactly the receipted segments, with a key rotation mid-backlog", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const dir = await enrolledSite("airgap", contract);
    const collectorId = (await collector(dir, ["status"])).json!.collector_id as string;
    const oldKey = JSON.parse(await readFile(join(dir, "key.json"), "utf8")).public_key;
    await appendHourlyUsage(dir, 30, T0);
    const rotation = await collector(dir, ["rotate-key"]);
    expect(rotation.json).toMatchObject({ ok: true, rotation_seq: 31, new_key_signs_from_seq: 32, old_public_key: oldKey });
    await appendHourlyUsage(dir, 30, T0 + 30 * HOUR);

    const bundleFile = join(root, "airgap-bundle.json");
    const exported = await collector(dir, ["export", "--out", bundleFile]);
    expect(exported.json).toMatchObject({ ok: true, batches: 2, records: 61, first_seq: 1, last_seq: 61, pending_after: 0 });
    // Damaged in transit: the second batch's signature no longer verifies.
    const bundle = JSON.parse(await readFile(bundleFile, "utf8"));
    expect(bundle).toMatchObject({ format: "tally-bundle/v1", collector_id: collectorId });
    bundle.batches[1].signature = bundle.batches[1].signature.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
    const damagedFile = join(root, "airgap-damaged.json");
    await writeFile(damagedFile, JSON.stringify(bundle));
    const replyFile = join(root, "airgap-reply.json");
    expect(await uploadFromAnotherProcess(`${edge.url}/v1/collectors/${collectorId}/bundles`, damagedFile, replyFile)).toBe(401);

    const before = await segmentStarts(dir);
    expect(retainedAfter(before, 31).length).toBeLessThan(before.length);
    const partial = await collector(dir, ["import-receipt", replyFile]);
    expect(partial.status).toBe(1);
    expect(partial.json).toMatchObject({ ok: false, error: "batch_refused", imported: 1, acked_seq: 31, edge_error: { error: "bad_signature", batch_index: 1 } });
    expect(await segmentStarts(dir)).toEqual(retainedAfter(before, 31));
    // The rotation is receipted: the new key is now the only signing key.
    const newKey = JSON.parse(await readFile(join(dir, "key.json"), "utf8")).public_key;
    expect(newKey).toBe(rotation.json!.public_key);

    const second = await collector(dir, ["export", "--out", bundleFile]);
    expect(second.json).toMatchObject({ batches: 1, records: 30, first_seq: 32, last_seq: 61 });
    expect(await uploadFromAnotherProcess(`${edge.url}/v1/collectors/${collectorId}/bundles`, bundleFile, replyFile)).toBe(200);
    const middle = await segmentStarts(dir);
    const full = await collector(dir, ["import-receipt", replyFile]);
    expect(full.json).toMatchObject({ ok: true, imported: 1, acked_seq: 61, pending: 0 });
    expect(await segmentStarts(dir)).toEqual(retainedAfter(middle, 61));

    const again = await collector(dir, ["import-receipt", replyFile]);
    expect(again.json).toMatchObject({ ok: true, imported: 0, already_receipted: 1, acked_seq: 61 });
    // The same receipt signed by the edge's key, but naming another head at seq 61: the edge holds
    // another chain than this site's. Refused, not skipped as already receipted; nothing changes.
    const reply = JSON.parse(await readFile(replyFile, "utf8"));
    const forged = { ...reply.receipts[0].receipt, head: "ab".repeat(32) };
    const forgedFile = join(root, "airgap-reply-forged.json");
    await writeFile(forgedFile, JSON.stringify({ receipts: [{ receipt: forged, signature: signReceipt(forged, edge.signingKey) }] }));
    const contradicting = await collector(dir, ["import-receipt", forgedFile]);
    expect([contradicting.status, contradicting.json?.error, contradicting.json?.refusal]).toEqual([1, "receipt_refused", "receipt_head_mismatch"]);
    expect((await collector(dir, ["verify"])).status).toBe(0);
    const balance = await getBalance<any>(edge, contract.vendorKey, contract.contractId);
    expect([balance.collectors[0].acked_seq, balance.usage.license_seconds]).toEqual([61, 60 * 3600]);
  });

  it("the vendor uploads a site's bundle with its own key", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const dir = await enrolledSite("vendor-upload", contract);
    const collectorId = (await collector(dir, ["status"])).json!.collector_id as string;
    await appendHourlyUsage(dir, 3, T0);
    const bundleFile = join(root, "vendor-bundle.json");
    await collector(dir, ["export", "--out", bundleFile]);
    const reply = await edgeRequest(edge, "POST", `/v1/contracts/${contract.contractId}/collectors/${collectorId}/bundles`, contract.vendorKey, JSON.parse(await readFile(bundleFile, "utf8")));
    const replyFile = join(root, "vendor-reply.json");
    await writeFile(replyFile, JSON.stringify(reply));
    expect((await collector(dir, ["import-receipt", replyFile])).json).toMatchObject({ ok: true, imported: 1, acked_seq: 3 });
  });
});

const collectorIdOf = async (dir: string) => (await collector(dir, ["status"])).json!.collector_id as string;

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
    const dir = await enrolledSite("backlog", contract), collectorId = await collectorIdOf(dir);
    await appendHourlyUsage(dir, 40, T0);
    expect((await collector(dir, ["rotate-key"])).json).toMatchObject({ rotation_seq: 41 });
    await appendHourlyUsage(dir, 40, T0 + 40 * HOUR);

    const exported = await collector(dir, ["export", "--out", join(root, "backlog.json"), "--max-bytes", "8192"]);
    expect(exported.json).toMatchObject({ ok: true, records: 81, first_seq: 1, last_seq: 81 });
    const bundles = exported.json!.bundles as { file: string; first_seq: number; last_seq: number }[];
    expect(bundles.length).toBeGreaterThanOrEqual(3);
    const last = bundles.at(-1)!;

    // Out of order, before the bundles it continues: refused with a stable code, nothing applied.
    // Past the key rotation too (the edge cannot judge its signature yet): a gap, naming the seq to upload first.
    const early = await upload(collectorId, bundles[1]!.file, join(root, "early-2.reply"));
    expect([early.status, early.body.error, early.body.expected_seq, early.body.receipts]).toEqual([409, "gap", 1, []]);
    const lateKey = await upload(collectorId, last.file, join(root, "early-last.reply"));
    expect(last.first_seq).toBeGreaterThan(41);
    expect([lateKey.status, lateKey.body.error, lateKey.body.expected_seq, lateKey.body.receipts]).toEqual([409, "gap", 1, []]);
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

  it("`upload` on the connected machine: shuffled files go in chain order, a missing middle bundle stops at the gap naming the files done, a rerun changes nothing", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const dir = await enrolledSite("uploader", contract);
    await appendHourlyUsage(dir, 40, T0);
    expect((await collector(dir, ["rotate-key"])).json).toMatchObject({ rotation_seq: 41 });
    await appendHourlyUsage(dir, 40, T0 + 40 * HOUR);
    const exported = await collector(dir, ["export", "--out", join(root, "trip.json"), "--max-bytes", "8192"]);
    const bundles = exported.json!.bundles as { file: string; first_seq: number; last_seq: number }[];
    expect(bundles.length).toBeGreaterThanOrEqual(4);
    const files = bundles.map((b) => b.file);
    // No state dir on the connected machine: only the files and the edge's address.
    const upload = (args: string[]) => runCollector(["upload", "--server", edge.url, "--json", ...args]);

    // The second bundle left behind: the first goes, the third is refused at the gap, the rest not tried.
    const short = await upload([...files.slice(2)].reverse().concat(files[0]!));
    expect(short.status, short.stderr).toBe(1);
    expect(short.json).toMatchObject({
      ok: false, error: "batch_refused", edge_error: "gap", expected_seq: bundles[1]!.first_seq,
      uploaded: [{ file: files[0], acked_seq: bundles[0]!.last_seq }], not_uploaded: files.slice(3),
    });
    expect(short.stderr).toMatch(new RegExp(`gap: .*the bundle holding seq ${bundles[1]!.first_seq} is not among these files`));
    expect(await ackedAtEdge(contract)).toBe(bundles[0]!.last_seq);

    // Through the connected machine's proxy, as sync reaches the edge (HTTP_PROXY, undici's agent).
    const proxy = await startHttpProxy();
    const all = await runCollector(["upload", "--server", edge.url, "--json", files[3]!, files[1]!, ...files.slice(4), files[2]!, files[0]!], { env: { HTTP_PROXY: proxy.url, HTTPS_PROXY: "", NO_PROXY: "" } });
    await proxy.stop();
    expect(all.status, all.stderr).toBe(0);
    const route = `${edge.url}/v1/collectors/${await collectorIdOf(dir)}/bundles`;
    expect(proxy.seen).toEqual(files.map(() => ({ method: "POST", target: route })));
    expect((all.json!.uploaded as { file: string }[]).map((u) => u.file)).toEqual(files);
    const replies = all.json!.replies as string[];
    expect(replies).toEqual(files.map((f) => join(root, `reply-${f.slice(root.length + 1)}`)));
    expect(await ackedAtEdge(contract)).toBe(81);
    const balance = async () => { const b = await getBalance<any>(edge, contract.vendorKey, contract.contractId); return [b.collectors[0].acked_seq, b.usage.license_seconds]; };
    const before = await balance();
    expect(before).toEqual([81, 80 * 3600]);

    const imported = await collector(dir, ["import-receipt", ...[...replies].reverse()]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.json).toMatchObject({ ok: true, acked_seq: 81, pending: 0 });
    expect((await collector(dir, ["status"])).json).toMatchObject({ acked_seq: 81, pending: 0, last_export: { awaiting_replies: [] } });

    // Run again: every bundle is a replay, answered with the edge's head; the replies are written again.
    const again = await upload(files);
    expect(again.status, again.stderr).toBe(0);
    expect((again.json!.uploaded as { acked_seq: number }[]).map((u) => u.acked_seq)).toEqual(files.map(() => 81));
    expect(await balance()).toEqual(before);
    expect((await collector(dir, ["import-receipt", ...replies])).json).toMatchObject({ ok: true, imported: 0, acked_seq: 81 });
    expect((await collector(dir, ["verify"])).status).toBe(0);
  });

  it("a reply that never comes back breaks none of the others: imported one at a time, a later reply receipts what the missing one would have", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const dir = await enrolledSite("missing", contract), collectorId = await collectorIdOf(dir);
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

describe("online sync with the site face", () => {
  it("a key rotation in the middle of a backlog syncs in one pass; later batches are signed by the new key", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const dir = await enrolledSite("rotation", contract);
    await appendHourlyUsage(dir, 5, T0);
    expect((await collector(dir, ["rotate-key"])).json).toMatchObject({ rotation_seq: 6 });
    expect((await collector(dir, ["rotate-key"])).status).toBe(2); // one rotation at a time
    await appendHourlyUsage(dir, 5, T0 + 5 * HOUR);
    expect((await collector(dir, ["sync"])).json).toMatchObject({ ok: true, acked_seq: 11, batches: 2 });
    await appendHourlyUsage(dir, 3, T0 + 10 * HOUR);
    expect((await collector(dir, ["sync"])).json).toMatchObject({ ok: true, acked_seq: 14 });
    expect((await collector(dir, ["verify"])).status).toBe(0);
  });

  it("after revocation the edge refuses new records (exit 1, revoked) and keeps what it receipted", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const dir = await enrolledSite("revoked", contract);
    const collectorId = (await collector(dir, ["status"])).json!.collector_id as string;
    await appendHourlyUsage(dir, 3, T0);
    expect((await collector(dir, ["sync"])).json).toMatchObject({ acked_seq: 3 });
    expect(await edgeRequest(edge, "POST", `/v1/collectors/${collectorId}/revoke`, contract.vendorKey)).toMatchObject({ revoked_at_seq: 3 });
    await appendHourlyUsage(dir, 2, T0 + 3 * HOUR);
    const refused = await collector(dir, ["sync"]);
    expect(refused.status).toBe(1);
    expect(refused.json).toMatchObject({ error: "revoked", edge_error: "revoked" });
    // The refusal is remembered: the next sync does not knock again (until `sync --resolved`).
    expect((await collector(dir, ["sync"])).json).toMatchObject({ error: "flagged", flags: [{ code: "revoked" }] });
    expect((await collector(dir, ["status"])).json).toMatchObject({ acked_seq: 3, pending: 2, flags: [{ code: "revoked" }] });
    expect((await getBalance<any>(edge, contract.vendorKey, contract.contractId)).usage.license_seconds).toBe(3 * 3600);
  });

  it("a site offline for a simulated week, editing its doc, merges cleanly with the edge and another site", async () => {
    const contract = await provisionContract(edge, { start: START, timezone: "UTC" });
    const away = await enrolledSite("week-away", contract);
    const home = await enrolledSite("week-home", contract, (await createEnrollment(edge, contract.vendorKey, contract.contractId)).enrollment_token);
    const awayId = (await collector(away, ["status"])).json!.collector_id as string;
    const homeId = (await collector(home, ["status"])).json!.collector_id as string;
    await appendHourlyUsage(away, 2, T0);
    expect((await collector(away, ["sync"])).json).toMatchObject({ acked_seq: 2, doc: { ok: true } });

    // A week away: 168 hourly records, written on the site's clock, and three doc edits.
    let clock = T0 + 2 * HOUR;
    for (let day = 0; day < 7; day++) {
      await appendHourlyUsage(away, 24, T0 + 2 * HOUR + day * 24 * HOUR, 1, () => (clock += HOUR));
      if (day % 3 === 0) openReplica(statePaths(away), awayId).writeSite({ notes: `day ${day}`, cost_centres: { [`user${day}`]: `CC-${day}` } });
    }
    openReplica(statePaths(away), awayId).writeSite({ site_name: "Ship 4, engine room" });
    // Meanwhile the other site syncs and edits its own root.
    await appendHourlyUsage(home, 4, T0);
    openReplica(statePaths(home), homeId).writeSite({ site_name: "Head office" });
    expect((await collector(home, ["sync"])).json).toMatchObject({ acked_seq: 4, doc: { ok: true } });

    expect((await collector(away, ["sync"])).json).toMatchObject({ acked_seq: 170, pending: 0, doc: { ok: true, discarded: false } });
    expect((await collector(home, ["sync"])).json).toMatchObject({ doc: { ok: true } });
    const awayDoc = openReplica(statePaths(away), awayId).read();
    const homeDoc = openReplica(statePaths(home), homeId).read();
    expect(awayDoc.sites).toEqual({
      [awayId]: { site_name: "Ship 4, engine room", notes: "day 6", cost_centres: { user0: "CC-0", user3: "CC-3", user6: "CC-6" } },
      [homeId]: { site_name: "Head office", cost_centres: {} },
    });
    expect(homeDoc.sites).toEqual(awayDoc.sites);
    expect(homeDoc.balance!.collectors).toEqual({ [awayId]: { acked_seq: 170 }, [homeId]: { acked_seq: 4 } });
  });

  it("status estimates offline with the edge stopped: the last known balance minus the units used since", async () => {
    // Usage from 8 h ago, in a contract that starts that day: the open period holds it, and the
    // grant (which covers the period it was created in) too.
    const from = Math.floor(testNow() / HOUR) * HOUR - 8 * HOUR;
    const contract = await provisionContract(edge, { start: utcDate(from), timezone: "UTC" });
    await edgeRequest(edge, "POST", `/v1/contracts/${contract.contractId}/grants`, contract.vendorKey, { amount: "100", idempotency_key: "prepaid-1" });
    const dir = await enrolledSite("offline-status", contract);
    await appendHourlyUsage(dir, 4, from);
    expect((await collector(dir, ["sync"])).json).toMatchObject({ acked_seq: 4, doc: { ok: true } });
    expect(openReplica(statePaths(dir), (await collector(dir, ["status"])).json!.collector_id as string).read().balance!.remaining_units).toBe("96");
    await appendHourlyUsage(dir, 3, from + 4 * HOUR, 2);
    await edge.stop();
    const status = await collector(dir, ["status"]);
    expect(status.status).toBe(0);
    // 3 records × 1 h × 2 licenses × rate 1 = 6 units since seq 4: 96 − 6.
    expect(status.json).toMatchObject({
      pending: 3, acked_seq: 4, last_seq: 7, remaining_units: "90", unit_name: "token",
      estimate: { reflects_acked_seq: 4, counted_from_seq: 5, used_since_units: "6", last_known_remaining_units: "96", estimated_remaining_units: "90", rated_with: "shared/pricing" },
    });
    expect((status.json!.last_receipt as { acked_seq: number }).acked_seq).toBe(4);
  });
});
