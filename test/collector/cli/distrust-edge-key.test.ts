// `collector distrust-edge-key`: the operator stops trusting a leaked edge key. Refused, changing
// nothing: a key the site does not trust (bad_input) and the last key it trusts (last_edge_key).
// A distrusted key is never added back by a sync's merge; trust-edge-key undoes a distrust, and
// refuses a key the edge itself revoked.
import { readFileSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { generateKeyPair, revokeEdgeKey } from "../../../shared/protocol/index.ts";
import { SegmentLog } from "../../../collector/log/segment-log.ts";
import { loadEdgeKeys, mergeEdgeKeys } from "../../../collector/state/edge-keys.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { cli, enrolledTmpState } from "./cli-io.ts";
import { edgeKeyRef as ref } from "../../support/edge-key-ref.ts";

const [leaked, fresh, stranger] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
let dir: string;
let state: string;

beforeEach(async () => {
  ({ dir, state } = await enrolledTmpState("distrust"));
  (await SegmentLog.open(join(state, "log"))).log.close();
  writeFileSync(join(state, "edge-keys.json"), JSON.stringify({ keys: [ref(leaked)] }));
});
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const keysFile = () => readFileSync(join(state, "edge-keys.json"), "utf8");
const run = (args: string[]) => cli([...args, "--state", state, "--json"]);

it("refuses the last trusted key and a key the site does not trust, changing nothing", async () => {
  const before = keysFile();
  const last = await run(["distrust-edge-key", "--key-id", ref(leaked).key_id]);
  expect([last.status, last.json?.error]).toEqual([2, "last_edge_key"]);
  const unknown = await run(["distrust-edge-key", "--key-id", ref(stranger).key_id]);
  expect([unknown.status, unknown.json?.error, unknown.json?.trusted]).toEqual([2, "bad_input", [ref(leaked).key_id]]);
  expect(keysFile()).toBe(before);
});

it("distrusts the leaked key once the new one is trusted; a merge never adds it back; trust-edge-key undoes a distrust", async () => {
  expect((await run(["trust-edge-key", "--public-key", fresh.publicKey, "--key-id", ref(fresh).key_id])).status).toBe(0);
  const done = await run(["distrust-edge-key", "--key-id", ref(leaked).key_id]);
  expect(done.json).toEqual({ ok: true, key_id: ref(leaked).key_id, already_distrusted: false, trusted: [ref(fresh).key_id] });
  expect((await run(["distrust-edge-key", "--key-id", ref(leaked).key_id])).json).toMatchObject({ ok: true, already_distrusted: true });
  const paths = statePaths(state);
  expect(await mergeEdgeKeys(paths, [ref(leaked)])).toEqual([ref(fresh)]);
  expect(JSON.parse(keysFile()).revoked).toEqual([{ ...ref(leaked), distrusted_at: expect.any(String) }]);
  // A mistaken distrust: the operator trusts the key again.
  expect((await run(["trust-edge-key", "--public-key", leaked.publicKey, "--key-id", ref(leaked).key_id])).json).toMatchObject({ ok: true, already_trusted: false });
  expect(await loadEdgeKeys(paths)).toEqual([ref(fresh), ref(leaked)]);
  expect(JSON.parse(keysFile()).revoked).toBeUndefined();
});

it("trust-edge-key refuses a key the edge revoked, changing nothing", async () => {
  const revocation = revokeEdgeKey(ref(leaked), ref(fresh), fresh.secretKey);
  await mergeEdgeKeys(statePaths(state), [ref(fresh)], [{ ...ref(leaked), revocation }]);
  const before = keysFile();
  const refused = await run(["trust-edge-key", "--public-key", leaked.publicKey, "--key-id", ref(leaked).key_id]);
  expect([refused.status, refused.json?.error, refused.json?.revoked_by]).toEqual([2, "bad_input", ref(fresh).key_id]);
  expect(keysFile()).toBe(before);
});
