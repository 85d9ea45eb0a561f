// An air-gapped site that learned a thief's key through a leaked edge key, before the leak was
// known: when a reply brings the leaked key's revocation, the thief's key goes with it
// (`dropped_edge_keys`), and what it signs afterwards is refused as revoked, changing nothing on
// disk. A key the reply endorses again through a chain that skips the leaked key stays.
import { readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { endorseEdgeKey, generateKeyPair, revokeEdgeKey, signReceipt, type KeyPair } from "../../../shared/protocol/index.ts";
import { appendHourlyUsage } from "../../support/site-usage.ts";
import { treeSnapshot } from "../../support/tree-snapshot.ts";
import { cli, enrolledTmpState } from "./cli-io.ts";
import { edgeKeyRef as ref } from "../../support/edge-key-ref.ts";

const endorsed = (k: KeyPair, by: KeyPair) => ({ ...ref(k), endorsement: endorseEdgeKey(ref(k), ref(by), by.secretKey) });
const T0 = Date.UTC(2026, 9, 5);
const HOUR = 3600_000;
let dir: string;
let state: string;

beforeEach(async () => {
  ({ dir, state } = await enrolledTmpState("learned-through"));
});
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const run = (args: string[]) => cli([...args, "--state", state, "--json"]);
const keysFile = () => JSON.parse(readFileSync(join(state, "edge-keys.json"), "utf8")) as { keys: Array<{ key_id: string; endorsed_by?: string }>; revoked?: Array<{ key_id: string; learned_through?: string; revocation?: unknown }> };

/** The next export's checkpoint, and a reply file answering it with a receipt signed by `signer`. */
async function forgedReply(name: string, signer: KeyPair, edgeKeys: unknown[]): Promise<string> {
  const bundle = join(dir, `bundle-${name}.json`);
  expect((await run(["export", "--out", bundle])).status).toBe(0);
  const { checkpoint } = JSON.parse(readFileSync(bundle, "utf8")).batches[0];
  const receipt = { collector_id: "col_cli_test", acked_seq: checkpoint.seq, head: checkpoint.head, received_at: T0, key_id: ref(signer).key_id };
  const file = join(dir, `reply-${name}.json`);
  writeFileSync(file, JSON.stringify({ receipts: [{ receipt, signature: signReceipt(receipt, signer.secretKey) }], edge_keys: edgeKeys }));
  return file;
}

it("the revocation of a leaked key drops the thief's key learned through it; a key endorsed again past the leak stays", async () => {
  // The site trusts k0 (enrolled long ago) and k1, learned through k0's endorsement. Then k1's seed leaks.
  const [k0, k1, k2, thief] = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];
  await appendHourlyUsage(state, 2, T0);
  writeFileSync(join(state, "edge-keys.json"), JSON.stringify({ keys: [ref(k0)] }));
  const genuine = await forgedReply("1", k1, [endorsed(k1, k0), ref(k0)]); // as the edge would answer, signed by k1
  expect((await run(["import-receipt", genuine])).json).toMatchObject({ ok: true, imported: 1, learned_edge_keys: [ref(k1).key_id] });

  // The thief, holding k1's seed, answers the next bundle with a key of theirs that k1 endorses: learned, and records released.
  await appendHourlyUsage(state, 2, T0 + 2 * HOUR);
  const forged = await forgedReply("2", thief, [endorsed(thief, k1), endorsed(k1, k0), ref(k0)]);
  expect((await run(["import-receipt", forged])).json).toMatchObject({ ok: true, imported: 1, learned_edge_keys: [ref(thief).key_id] });
  expect(keysFile().keys.map((k) => [k.key_id, k.endorsed_by])).toEqual([[ref(k0).key_id, undefined], [ref(k1).key_id, ref(k0).key_id], [ref(thief).key_id, ref(k1).key_id]]);

  // The leak is found: the edge moves to k2, endorsed by k0 (the last key that did not leak), and
  // revokes k1 with k2. The next genuine reply, signed by k2, brings it all.
  await appendHourlyUsage(state, 1, T0 + 4 * HOUR);
  const after = await forgedReply("3", k2, [endorsed(k2, k0), { ...ref(k1), revocation: revokeEdgeKey(ref(k1), ref(k2), k2.secretKey) }, ref(k0)]);
  const imported = await run(["import-receipt", after]);
  expect(imported.json).toMatchObject({ ok: true, imported: 1, learned_edge_keys: [ref(k2).key_id], revoked_edge_keys: [ref(k1).key_id], dropped_edge_keys: [ref(thief).key_id] });
  const stored = keysFile();
  expect(stored.keys.map((k) => k.key_id)).toEqual([ref(k0).key_id, ref(k2).key_id]);
  expect(stored.revoked?.map((k) => [k.key_id, k.revocation ? "revoked" : k.learned_through])).toEqual([[ref(k1).key_id, "revoked"], [ref(thief).key_id, ref(k1).key_id]]);
  expect((await run(["status"])).json?.edge_keys).toEqual({
    trusted: [ref(k0).key_id, ref(k2).key_id],
    revoked: [{ key_id: ref(k1).key_id, why: "revoked" }, { key_id: ref(thief).key_id, why: "learned_through_revoked" }],
    checked_at: null, // an air-gapped site never reads the edge's list itself
  });

  // The thief's key signs nothing this site takes any more, and a refused import changes nothing.
  await appendHourlyUsage(state, 1, T0 + 5 * HOUR);
  const again = await forgedReply("4", thief, [endorsed(thief, k1), ref(k0)]);
  const before = await treeSnapshot(state);
  const refused = await run(["import-receipt", again]);
  expect([refused.status, refused.json?.error, refused.json?.refusal, refused.json?.key_endorsement]).toEqual([1, "receipt_refused", "unknown_key", "revoked"]);
  expect(await treeSnapshot(state)).toEqual(before);
  // verify still checks every stored receipt, and names those of keys no longer trusted.
  expect((await run(["verify"])).json).toMatchObject({ ok: true, receipts_checked: 3 });
});

it("a key learned through the leaked key that the reply endorses again past the leak stays trusted", async () => {
  // k2 was learned through k1; k1 leaks; the edge re-endorses k2 with k0 and revokes k1 with k2.
  const [k0, k1, k2] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  await appendHourlyUsage(state, 1, T0);
  writeFileSync(join(state, "edge-keys.json"), JSON.stringify({ keys: [ref(k0), { ...ref(k1), endorsed_by: ref(k0).key_id }, { ...ref(k2), endorsed_by: ref(k1).key_id }] }));
  const reply = await forgedReply("1", k2, [endorsed(k2, k0), { ...ref(k1), revocation: revokeEdgeKey(ref(k1), ref(k2), k2.secretKey) }, ref(k0)]);
  const imported = await run(["import-receipt", reply]);
  expect(imported.json).toMatchObject({ ok: true, imported: 1, revoked_edge_keys: [ref(k1).key_id] });
  expect(imported.json).not.toHaveProperty("dropped_edge_keys");
  expect(keysFile().keys.map((k) => [k.key_id, k.endorsed_by])).toEqual([[ref(k0).key_id, undefined], [ref(k2).key_id, ref(k0).key_id]]);
});
