// The keys an online site takes from GET /v1/keys over TLS: every key the edge lists, endorsed or
// not (TLS to the site's own server is the trust), except one whose endorsement contradicts a key
// the site knows.
import { describe, expect, it } from "vitest";
import { endorseEdgeKey, generateKeyPair, keyIdOf, type KeyPair } from "../../../shared/protocol/index.ts";
import { keysOverTls } from "../../../collector/state/edge-keys.ts";

const ref = (k: KeyPair) => ({ key_id: keyIdOf(k.publicKey), public_key: k.publicKey });
const [k0, k1, other] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];

describe("keysOverTls", () => {
  it("takes an endorsed key and an unendorsed one (an edge that kept no previous seeds)", () => {
    const endorsed = { ...ref(k1), endorsement: endorseEdgeKey(ref(k1), ref(k0), k0.secretKey) };
    expect(keysOverTls([ref(k0)], [endorsed, ref(k0)])).toEqual([ref(k1), ref(k0)]);
    expect(keysOverTls([ref(k0)], [ref(k1)])).toEqual([ref(k1)]);
  });

  it("leaves out a key whose endorsement by a known key does not verify", () => {
    const forged = { ...ref(k1), endorsement: endorseEdgeKey(ref(k1), ref(k0), other.secretKey) };
    expect(keysOverTls([ref(k0)], [forged, ref(k0)])).toEqual([ref(k0)]);
  });
});
