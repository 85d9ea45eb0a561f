// The keys an online site takes from GET /v1/keys over TLS: every key the edge lists, endorsed or
// not (TLS to the site's own server is the trust), except one whose endorsement contradicts a key
// the site knows, and one the list revokes. Stored, a revoked key is never trusted again, and the
// time of the last list read decides when the next is due.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { endorseEdgeKey, generateKeyPair, revokeEdgeKey, type KeyPair } from "../../../shared/protocol/index.ts";
import { EDGE_KEYS_CHECK_MS, edgeKeysDue, keysOverTls, learnedThrough, loadEdgeKeys, loadRevokedEdgeKeys, mergeEdgeKeys, restoreEdgeKey } from "../../../collector/state/edge-keys.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";
import { edgeKeyRef as ref } from "../../support/edge-key-ref.ts";

const [k0, k1, k2, other] = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];

describe("keysOverTls", () => {
  it("takes an endorsed key and an unendorsed one (an edge that kept no previous seeds)", () => {
    const endorsed = { ...ref(k1), endorsement: endorseEdgeKey(ref(k1), ref(k0), k0.secretKey) };
    expect(keysOverTls([ref(k0)], [endorsed, ref(k0)])).toEqual({ keys: [ref(k1), ref(k0)], revoked: [] });
    expect(keysOverTls([ref(k0)], [ref(k1)])).toEqual({ keys: [ref(k1)], revoked: [] });
  });

  it("leaves out a key whose endorsement by a known key does not verify", () => {
    const forged = { ...ref(k1), endorsement: endorseEdgeKey(ref(k1), ref(k0), other.secretKey) };
    expect(keysOverTls([ref(k0)], [forged, ref(k0)]).keys).toEqual([ref(k0)]);
  });

  it("drops a key the edge lists as revoked by its current key; a revocation that does not verify revokes nothing", () => {
    const revocation = revokeEdgeKey(ref(k1), ref(k2), k2.secretKey);
    const list = [{ ...ref(k2), endorsement: endorseEdgeKey(ref(k2), ref(k0), k0.secretKey) }, { ...ref(k1), revocation }, ref(k0)];
    expect(keysOverTls([ref(k0), ref(k1)], list)).toEqual({ keys: [ref(k2), ref(k0)], revoked: [{ ...ref(k1), revocation }] });
    const forged = { ...ref(k1), revocation: { ...revocation, signature: revokeEdgeKey(ref(k1), ref(k2), other.secretKey).signature } };
    expect(keysOverTls([ref(k0), ref(k1)], [list[0], forged, ref(k0)]).revoked).toEqual([]);
  });
});

describe("stored edge keys", () => {
  let dir: string;
  let paths: ReturnType<typeof statePaths>;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "tally-edgekeys-")); paths = statePaths(dir); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

  it("a revoked key leaves the trusted keys, is kept with its evidence, and is never added back", async () => {
    await mergeEdgeKeys(paths, [ref(k0), ref(k1)]);
    expect(JSON.parse(await readFile(paths.edgeKeys, "utf8"))).toEqual({ keys: [ref(k0), ref(k1)] }); // no `revoked` until one is
    const revocation = revokeEdgeKey(ref(k1), ref(k2), k2.secretKey);
    expect(await mergeEdgeKeys(paths, [ref(k2)], [{ ...ref(k1), revocation }])).toEqual([ref(k0), ref(k2)]);
    expect(await mergeEdgeKeys(paths, [ref(k1)])).toEqual([ref(k0), ref(k2)]); // an online list still naming it adds nothing
    expect(await loadEdgeKeys(paths)).toEqual([ref(k0), ref(k2)]);
    expect(await loadRevokedEdgeKeys(paths)).toEqual([{ ...ref(k1), revocation }]);
  });

  it("a key learned through a key revoked later goes with it, down its chain, unless vouched again; vouched again, it comes back", async () => {
    const via = (k: KeyPair, by: KeyPair) => ({ ...ref(k), endorsed_by: ref(by).key_id });
    await mergeEdgeKeys(paths, [ref(k0)]); // enrolled: the edge's word
    await mergeEdgeKeys(paths, [via(k1, k0)]); // learned from carried replies, each through the key before
    await mergeEdgeKeys(paths, [via(k2, k1), via(other, k2)]);
    expect(learnedThrough(await loadEdgeKeys(paths), [ref(k1).key_id])).toEqual(new Map([[ref(k2).key_id, ref(k1).key_id], [ref(other).key_id, ref(k1).key_id]]));
    expect(learnedThrough(await loadEdgeKeys(paths), [ref(k1).key_id], new Set([ref(k2).key_id]))).toEqual(new Map()); // k2 vouched again: the chain stops there

    // k1 leaked: its revocation takes k2 (learned through it) and `other` (through k2) along.
    const revocation = revokeEdgeKey(ref(k1), ref(k0), k0.secretKey);
    expect(await mergeEdgeKeys(paths, [], [{ ...ref(k1), revocation }])).toEqual([ref(k0)]);
    expect((await loadRevokedEdgeKeys(paths)).map((k) => [k.key_id, k.revocation ? "revoked" : k.learned_through])).toEqual([
      [ref(k1).key_id, "revoked"], [ref(k2).key_id, ref(k1).key_id], [ref(other).key_id, ref(k1).key_id],
    ]);
    // The edge lists k2 again (over TLS, its own word): k2 is back with no endorser on record;
    // `other` stays out (nothing vouched for it again), and k1 never comes back.
    expect(await mergeEdgeKeys(paths, [ref(k2), ref(k1)])).toEqual([ref(k0), ref(k2)]);
    expect((await loadRevokedEdgeKeys(paths)).map((k) => k.key_id)).toEqual([ref(k1).key_id, ref(other).key_id]);
  });

  it("the edge's list is due a day after it was last read, never read, or read 'in the future'; a write that read no list keeps the time", async () => {
    const t = Date.UTC(2026, 10, 2, 12);
    await mergeEdgeKeys(paths, [ref(k0)]);
    expect(await edgeKeysDue(paths, t)).toBe(true); // never read (a site from before the daily check)
    await mergeEdgeKeys(paths, [ref(k1)], [], t);
    expect(JSON.parse(await readFile(paths.edgeKeys, "utf8")).checked_at).toBe(new Date(t).toISOString());
    expect(await edgeKeysDue(paths, t + EDGE_KEYS_CHECK_MS - 1)).toBe(false);
    expect(await edgeKeysDue(paths, t + EDGE_KEYS_CHECK_MS)).toBe(true);
    expect(await edgeKeysDue(paths, t - 1)).toBe(true); // the clock went back: not postponed
    // Keys trusted by hand, a revocation from a carried file or a restored key: no list read, the time stays.
    await mergeEdgeKeys(paths, [ref(k2)], [{ ...ref(k1), revocation: revokeEdgeKey(ref(k1), ref(k2), k2.secretKey) }]);
    await restoreEdgeKey(paths, ref(k1));
    const stored = JSON.parse(await readFile(paths.edgeKeys, "utf8"));
    expect([stored.keys.map((k: { key_id: string }) => k.key_id), stored.checked_at]).toEqual([[ref(k0).key_id, ref(k2).key_id, ref(k1).key_id], new Date(t).toISOString()]);
    expect(await edgeKeysDue(paths, t + 1)).toBe(false);
  });
});
