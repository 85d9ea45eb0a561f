// The keys an online site takes from GET /v1/keys over TLS: every key the edge lists, endorsed or
// not (TLS to the site's own server is the trust), except one whose endorsement contradicts a key
// the site knows, and one the list revokes. Stored, a revoked key is never trusted again.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { endorseEdgeKey, generateKeyPair, keyIdOf, revokeEdgeKey, type KeyPair } from "../../../shared/protocol/index.ts";
import { keysOverTls, loadEdgeKeys, loadRevokedEdgeKeys, mergeEdgeKeys } from "../../../collector/state/edge-keys.ts";
import { statePaths } from "../../../collector/state/state-dir.ts";

const ref = (k: KeyPair) => ({ key_id: keyIdOf(k.publicKey), public_key: k.publicKey });
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
  it("a revoked key leaves the trusted keys, is kept with its evidence, and is never added back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tally-edgekeys-"));
    try {
      const paths = statePaths(dir);
      await mergeEdgeKeys(paths, [ref(k0), ref(k1)]);
      expect(JSON.parse(await readFile(paths.edgeKeys, "utf8"))).toEqual({ keys: [ref(k0), ref(k1)] }); // no `revoked` until one is
      const revocation = revokeEdgeKey(ref(k1), ref(k2), k2.secretKey);
      expect(await mergeEdgeKeys(paths, [ref(k2)], [{ ...ref(k1), revocation }])).toEqual([ref(k0), ref(k2)]);
      expect(await mergeEdgeKeys(paths, [ref(k1)])).toEqual([ref(k0), ref(k2)]); // an online list still naming it adds nothing
      expect(await loadEdgeKeys(paths)).toEqual([ref(k0), ref(k2)]);
      expect(await loadRevokedEdgeKeys(paths)).toEqual([{ ...ref(k1), revocation }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
