// The edge rotates its signing key twice while an air-gapped site's bundle is being carried to it
// (a real collector process and a local edge restarted on its state with EDGE_SIGNING_KEY and
// EDGE_SIGNING_KEYS_PREVIOUS): the reply's receipts are signed by a key the site has never seen,
// and the reply's endorsements chain it to the key the site enrolled with. Import succeeds with
// the genuine reply and refuses, changing nothing on disk, a reply whose endorsement is forged or
// missing. After a leaked key the edge revokes it: the site, once the operator vouched for the new
// key, applies the revocation from a reply and refuses receipts the thief forges with the leaked
// key, changing nothing on disk. Online, through a proxy that follows the restarted edge to its new
// port: a receipt by a new key makes the site read GET /v1/keys, and a revocation reaches it at
// the daily read even when no receipt asks.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endorseEdgeKey, generateKeyPair, keyIdOf, publicKeyOf, signReceipt } from "../../shared/protocol/index.ts";
import { runCollector } from "../support/collector-process.ts";
import { startFaultProxy } from "../support/fault-proxy.ts";
import { getBalance, provisionContract, startLocalEdge, type LocalEdge } from "../support/local-edge.ts";
import { appendHourlyUsage } from "../support/site-usage.ts";
import { treeSnapshot } from "../support/tree-snapshot.ts";
import { testNow, utcDate } from "../support/test-clock.ts";

const HOUR = 3600_000;
const T0 = Math.floor(testNow() / HOUR) * HOUR - 2 * 24 * HOUR;
const [K0, K1, K2] = [0, 1, 2].map(() => randomBytes(32).toString("hex")) as [string, string, string];
const idOf = (seed: string) => keyIdOf(publicKeyOf(seed));
let edge: LocalEdge;
/** The key the edge signs with now (the first test leaves it at K2). */
let signingKey = K0;
let root: string;

beforeAll(async () => {
  edge = await startLocalEdge({ signingKey: K0 });
  root = await mkdtemp(join(tmpdir(), "tally-e2e-edgekeys-"));
});
afterAll(async () => {
  await edge?.stop();
  if (edge) await rm(edge.persistDir, { recursive: true, force: true });
  if (root) await rm(root, { recursive: true, force: true });
});

const collector = (dir: string, args: string[]) => runCollector([...args, "--state", dir, "--json"]);

/** Restarts the edge on its own state with other signing keys (it listens on another port after). */
async function restartEdge(keys: { signingKey: string; previousSigningKeys: string[]; revokedKeyIds?: string[] }): Promise<void> {
  const { persistDir, adminToken } = edge;
  await edge.stop({ keepState: true });
  edge = await startLocalEdge({ persistDir, adminToken, ...keys });
  signingKey = keys.signingKey;
}

describe("an air-gapped site across the edge's key rotations", () => {
  it("imports receipts signed by a key endorsed through two rotations, and refuses forged or missing endorsements", async () => {
    const contract = await provisionContract(edge, { start: utcDate(T0), timezone: "UTC" });
    const dir = join(root, "site");
    const init = await collector(dir, ["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", "offline"]);
    expect(init.json).toMatchObject({ ok: true, edge_keys: [idOf(K0)] });
    const collectorId = init.json!.collector_id as string;
    await appendHourlyUsage(dir, 4, T0);
    const bundleFile = join(root, "bundle.json");
    expect((await collector(dir, ["export", "--out", bundleFile])).json).toMatchObject({ ok: true, batches: 1, last_seq: 4 });

    // While the bundle travels, the edge rotates K0 → K1 → K2 (restarted on its state each time).
    await restartEdge({ signingKey: K2, previousSigningKeys: [K1, K0] });
    const upload = await fetch(`${edge.url}/v1/collectors/${collectorId}/bundles`, { method: "POST", headers: { "content-type": "application/json" }, body: await readFile(bundleFile) });
    expect(upload.status).toBe(200);
    const reply = await upload.json() as any;
    expect(reply.receipts.map((r: any) => r.receipt.key_id)).toEqual([idOf(K2)]);
    expect(reply.edge_keys.map((k: any) => [k.key_id, k.endorsement?.endorsed_by])).toEqual([[idOf(K2), idOf(K1)], [idOf(K1), idOf(K0)], [idOf(K0), undefined]]);
    expect(await (await fetch(`${edge.url}/v1/keys`)).json()).toEqual({ keys: reply.edge_keys });

    // Forged: K2's endorsement signed by someone else's key claiming to be K1. Then: no endorsements at all.
    const thief = generateKeyPair().secretKey;
    const k1 = { key_id: idOf(K1), public_key: publicKeyOf(K1) };
    const forged = { ...reply, edge_keys: [{ ...reply.edge_keys[0], endorsement: endorseEdgeKey(reply.edge_keys[0], k1, thief) }, ...reply.edge_keys.slice(1)] };
    const before = await treeSnapshot(dir);
    for (const [name, body, why] of [["forged", forged, "bad_endorsement"], ["bare", { receipts: reply.receipts }, "unendorsed"]] as const) {
      const file = join(root, `reply-${name}.json`);
      await writeFile(file, JSON.stringify(body));
      const refused = await collector(dir, ["import-receipt", file]);
      expect([refused.status, refused.json?.error, refused.json?.refusal, refused.json?.key_endorsement, refused.json?.imported]).toEqual([1, "receipt_refused", "unknown_key", why, 0]);
      expect(await treeSnapshot(dir)).toEqual(before);
    }
    expect((await collector(dir, ["status"])).json).toMatchObject({ acked_seq: 0, pending: 4 });

    // The genuine reply: K1 and K2 are learned through the chain from K0, the receipt is imported.
    const replyFile = join(root, "reply.json");
    await writeFile(replyFile, JSON.stringify(reply));
    const imported = await collector(dir, ["import-receipt", replyFile]);
    expect(imported.json).toMatchObject({ ok: true, imported: 1, acked_seq: 4, pending: 0, learned_edge_keys: [idOf(K1), idOf(K2)] });
    const stored = JSON.parse(await readFile(join(dir, "edge-keys.json"), "utf8")).keys.map((k: { key_id: string }) => k.key_id);
    expect(stored).toEqual([idOf(K0), idOf(K1), idOf(K2)]);
    expect((await collector(dir, ["verify"])).status).toBe(0);
    // Imported again: already receipted, nothing more learned.
    expect((await collector(dir, ["import-receipt", replyFile])).json).toMatchObject({ ok: true, imported: 0, already_receipted: 1, learned_edge_keys: [] });
    expect((await getBalance<any>(edge, contract.vendorKey, contract.contractId)).usage.license_seconds).toBe(4 * 3600);
  });

  it("after a leaked key: the edge revokes it, the operator trusts the new key by hand, the site drops the leaked one and refuses what it forges", async () => {
    // The key the edge signs with now is the one that leaks (an edge restart less than starting anew).
    const [leaked, fresh] = [signingKey, randomBytes(32).toString("hex")];
    const contract = await provisionContract(edge, { start: utcDate(T0), timezone: "UTC" });
    const dir = join(root, "site-leak");
    const init = await collector(dir, ["init", "--server", edge.url, "--enroll", contract.enrollmentToken, "--site", "offline, leak"]);
    expect(init.json).toMatchObject({ ok: true, edge_keys: [idOf(leaked)] });
    const collectorId = init.json!.collector_id as string;
    const roundTrip = async (name: string, lastSeq: number) => {
      const bundleFile = join(root, `bundle-${name}.json`);
      expect((await collector(dir, ["export", "--out", bundleFile])).json).toMatchObject({ ok: true, last_seq: lastSeq });
      const upload = await fetch(`${edge.url}/v1/collectors/${collectorId}/bundles`, { method: "POST", headers: { "content-type": "application/json" }, body: await readFile(bundleFile) });
      const replyFile = join(root, `reply-${name}.json`);
      await writeFile(replyFile, await upload.text());
      return replyFile;
    };
    // Before the leak is known: a receipt signed by the leaked key is imported, and releases records 1–3.
    await appendHourlyUsage(dir, 3, T0);
    expect((await collector(dir, ["import-receipt", await roundTrip("leak-1", 3)])).json).toMatchObject({ ok: true, imported: 1, acked_seq: 3 });

    // The leak: the edge moves to a new key and revokes the leaked one (kept as a previous key, revoked).
    await appendHourlyUsage(dir, 3, T0 + 3 * HOUR);
    await restartEdge({ signingKey: fresh, previousSigningKeys: [leaked], revokedKeyIds: [idOf(leaked)] });
    const replyFile = await roundTrip("leak-2", 6);
    const reply = JSON.parse(await readFile(replyFile, "utf8"));
    // Nothing endorses the new key (its only predecessor leaked); the leaked key carries the new key's revocation.
    expect(reply.edge_keys.map((k: any) => [k.key_id, k.endorsement?.endorsed_by, k.revocation?.revoked_by])).toEqual([[idOf(fresh), undefined, undefined], [idOf(leaked), undefined, idOf(fresh)]]);
    const refused = await collector(dir, ["import-receipt", replyFile]);
    expect([refused.status, refused.json?.refusal, refused.json?.key_endorsement]).toEqual([1, "unknown_key", "unendorsed"]);

    // A mistyped key (or an id that is not its own) is refused and trusts nothing. (distrust-edge-key's
    // refusals, and trust-edge-key's of a revoked key, are test/collector/cli/distrust-edge-key.test.ts.)
    const pub = publicKeyOf(fresh);
    const before = await treeSnapshot(dir);
    const typo = await collector(dir, ["trust-edge-key", "--public-key", pub, "--key-id", idOf(leaked)]);
    expect([typo.status, typo.json?.error, typo.json?.expected_key_id]).toEqual([2, "bad_input", idOf(fresh)]);
    expect((await collector(dir, ["trust-edge-key", "--public-key", pub.slice(1), "--key-id", idOf(fresh)])).json?.error).toBe("bad_input");
    expect(await treeSnapshot(dir)).toEqual(before);

    const trusted = await collector(dir, ["trust-edge-key", "--public-key", pub, "--key-id", idOf(fresh)]);
    expect(trusted.json).toEqual({ ok: true, key_id: idOf(fresh), public_key: pub, already_trusted: false });
    expect((await collector(dir, ["trust-edge-key", "--public-key", pub.toUpperCase(), "--key-id", idOf(fresh)])).json).toMatchObject({ ok: true, already_trusted: true });
    // Now the reply's revocation verifies (by the key just trusted): the leaked key is dropped.
    expect((await collector(dir, ["import-receipt", replyFile])).json).toMatchObject({ ok: true, imported: 1, acked_seq: 6, pending: 0, revoked_edge_keys: [idOf(leaked)] });
    const stored = JSON.parse(await readFile(join(dir, "edge-keys.json"), "utf8"));
    expect([stored.keys.map((k: any) => k.key_id), stored.revoked.map((k: any) => [k.key_id, k.revocation.revoked_by])]).toEqual([[idOf(fresh)], [[idOf(leaked), idOf(fresh)]]]);
    // The receipt imported before the revocation stands; verify names it.
    expect((await collector(dir, ["verify"])).json).toMatchObject({ ok: true, receipts_checked: 2, receipts_by_revoked_keys: [{ key_id: idOf(leaked), receipts: 1, last_acked_seq: 3 }] });

    // The thief forges a receipt for the next batch with the leaked key, then with a key of theirs the leaked key endorses.
    await appendHourlyUsage(dir, 2, T0 + 6 * HOUR);
    const bundleFile = join(root, "bundle-leak-3.json");
    expect((await collector(dir, ["export", "--out", bundleFile])).json).toMatchObject({ ok: true, last_seq: 8 });
    const { checkpoint } = JSON.parse(await readFile(bundleFile, "utf8")).batches[0];
    const thief = generateKeyPair();
    const forgeBy = (seed: string) => {
      const receipt = { collector_id: collectorId, acked_seq: checkpoint.seq, head: checkpoint.head, received_at: testNow(), key_id: idOf(seed) };
      return { receipt, signature: signReceipt(receipt, seed) };
    };
    const leakedRef = { key_id: idOf(leaked), public_key: publicKeyOf(leaked) };
    const thiefRef = { key_id: idOf(thief.secretKey), public_key: thief.publicKey };
    const forgeries = [
      ["by-leaked", { receipts: [forgeBy(leaked)], edge_keys: [leakedRef] }, "revoked"],
      ["by-endorsed", { receipts: [forgeBy(thief.secretKey)], edge_keys: [{ ...thiefRef, endorsement: endorseEdgeKey(thiefRef, leakedRef, leaked) }, leakedRef] }, "unendorsed"],
    ] as const;
    const beforeForgery = await treeSnapshot(dir);
    for (const [name, body, why] of forgeries) {
      const file = join(root, `reply-forged-${name}.json`);
      await writeFile(file, JSON.stringify(body));
      const forged = await collector(dir, ["import-receipt", file]);
      expect([forged.status, forged.json?.error, forged.json?.refusal, forged.json?.key_endorsement, forged.json?.imported]).toEqual([1, "receipt_refused", "unknown_key", why, 0]);
      expect(await treeSnapshot(dir)).toEqual(beforeForgery);
    }
    // Records 7–8 stay pending (the snapshot holds the log's cursor): the edge has 6 hours, the site releases nothing more.
    expect((await getBalance<any>(edge, contract.vendorKey, contract.contractId)).usage.license_seconds).toBe(6 * 3600);
  });
});

describe("an online site across the edge's key rotation and revocation", () => {
  it("learns the new key from GET /v1/keys when a receipt names it, and a revocation within a day even when no receipt asks", async () => {
    const [current, next] = [signingKey, randomBytes(32).toString("hex")];
    const contract = await provisionContract(edge, { start: utcDate(T0), timezone: "UTC" });
    // The site reaches the edge through a proxy that follows the edge when it restarts on another port.
    const proxy = await startFaultProxy(edge.url, 1, {});
    const dir = join(root, "site-online");
    const restart = async (keys: Parameters<typeof restartEdge>[0]) => {
      await restartEdge(keys);
      proxy.retarget(edge.url);
    };
    const stored = async () => JSON.parse(await readFile(join(dir, "edge-keys.json"), "utf8")) as { keys: Array<{ key_id: string }>; revoked?: Array<{ key_id: string; revocation: { revoked_by: string } }>; checked_at: string };
    const trusted = async () => (await stored()).keys.map((k) => k.key_id);
    try {
      expect((await collector(dir, ["init", "--server", proxy.url, "--enroll", contract.enrollmentToken, "--site", "online"])).json).toMatchObject({ ok: true, edge_keys: [idOf(current)] });
      const enrolledAt = (await stored()).checked_at; // the enrollment answer is the edge's word: the day starts there
      expect(Date.parse(enrolledAt)).toBeGreaterThan(0);
      await appendHourlyUsage(dir, 2, T0);
      const first = await collector(dir, ["sync"]);
      expect(first.json).toMatchObject({ ok: true, acked_seq: 2 });
      expect(first.json).not.toHaveProperty("revoked_edge_keys");
      expect((await stored()).checked_at).toBe(enrolledAt); // every receipt named a known key: no list read

      // The edge rotates: the next receipt names a key the site has not seen, so the site reads the
      // edge's list, where the key it knows endorses the new one.
      await restart({ signingKey: next, previousSigningKeys: [current] });
      await appendHourlyUsage(dir, 2, T0 + 2 * HOUR);
      expect((await collector(dir, ["sync"])).json).toMatchObject({ ok: true, acked_seq: 4 });
      expect(await trusted()).toEqual([idOf(current), idOf(next)]);
      const rotatedAt = (await stored()).checked_at;
      expect(Date.parse(rotatedAt)).toBeGreaterThanOrEqual(Date.parse(enrolledAt));

      // Later the old key turns out to have leaked and the edge revokes it. Its receipts are signed
      // by `next`, which the site knows, so nothing makes it read the list: within the day it still
      // trusts the leaked key.
      await restart({ signingKey: next, previousSigningKeys: [current], revokedKeyIds: [idOf(current)] });
      await appendHourlyUsage(dir, 1, T0 + 4 * HOUR);
      const sameDay = await collector(dir, ["sync"]);
      expect(sameDay.json).toMatchObject({ ok: true, acked_seq: 5 });
      expect(sameDay.json).not.toHaveProperty("revoked_edge_keys");
      expect(await trusted()).toEqual([idOf(current), idOf(next)]);

      // A day on (the last read set back 25 hours). The list's answer is lost once: the pass syncs
      // anyway and the read stays due; the next pass reads it and drops the leaked key.
      const aged = await stored();
      await writeFile(join(dir, "edge-keys.json"), JSON.stringify({ ...aged, checked_at: new Date(Date.parse(aged.checked_at) - 25 * HOUR).toISOString() }));
      await appendHourlyUsage(dir, 1, T0 + 5 * HOUR);
      proxy.script(["badGateway"]);
      const lost = await collector(dir, ["sync"]);
      expect(lost.json).toMatchObject({ ok: true, acked_seq: 6 });
      expect(lost.json).not.toHaveProperty("revoked_edge_keys");
      expect(proxy.counts.badGateway).toBe(1);
      expect(await trusted()).toEqual([idOf(current), idOf(next)]);
      const read = await collector(dir, ["sync"]);
      expect(read.json).toMatchObject({ ok: true, batches: 0, acked_seq: 6, revoked_edge_keys: [idOf(current)] });
      const after = await stored();
      expect([after.keys.map((k) => k.key_id), after.revoked?.map((k) => [k.key_id, k.revocation.revoked_by])]).toEqual([[idOf(next)], [[idOf(current), idOf(next)]]]);
      expect(Date.parse(after.checked_at)).toBeGreaterThan(Date.parse(aged.checked_at) - 25 * HOUR);
      expect((await collector(dir, ["status"])).json?.edge_keys).toEqual({ trusted: [idOf(next)], revoked: [{ key_id: idOf(current), why: "revoked" }], checked_at: after.checked_at });
      // Receipts the leaked key signed before stand, and verify names them.
      expect((await collector(dir, ["verify"])).json).toMatchObject({ ok: true, receipts_by_revoked_keys: [{ key_id: idOf(current), last_acked_seq: 2 }] });
      expect((await getBalance<any>(edge, contract.vendorKey, contract.contractId)).usage.license_seconds).toBe(6 * 3600);
    } finally {
      await proxy.close();
    }
  });
});
