// Edge-key endorsements: a site trusting an old edge key learns the keys the edge rotated to only
// through a chain of valid endorsements that starts at a key it trusts; a revoked key (the site's
// word, or a list's revocation by a key the site reaches) neither counts nor endorses.
import { describe, expect, it } from "vitest";
import {
  EDGE_KEY_DOMAIN, RECEIPT_DOMAIN, canonicalBytes, endorseEdgeKey, endorsedKeys, revokeEdgeKey, verifyRevocation, generateKeyPair, keyIdOf, signDomain, verifyEndorsement,
  type KeyPair, type PublishedEdgeKey,
} from "../../../shared/protocol/index.ts";
import { edgeKeyRef as ref } from "../../support/edge-key-ref.ts";

/** `key` as learned through `by`'s endorsement. */
const learnt = (key: KeyPair, by: KeyPair) => ({ ...ref(key), endorsed_by: ref(by).key_id });
const [k0, k1, k2, k3] = [generateKeyPair(), generateKeyPair(), generateKeyPair(), generateKeyPair()];

/** `key` endorsed by `by` (as the edge publishes it). */
function endorsed(key: KeyPair, by: KeyPair): PublishedEdgeKey {
  return { ...ref(key), endorsement: endorseEdgeKey(ref(key), ref(by), by.secretKey) };
}

describe("edge-key endorsements", () => {
  it("verifies the key it endorses, and nothing else", () => {
    const e = endorseEdgeKey(ref(k1), ref(k0), k0.secretKey);
    expect(e.endorsed_by).toBe(ref(k0).key_id);
    expect(verifyEndorsement(ref(k1), e, ref(k0))).toBe(true);
    expect(verifyEndorsement(ref(k2), e, ref(k0))).toBe(false); // another key
    expect(verifyEndorsement(ref(k1), e, ref(k2))).toBe(false); // another endorser
    // A key_id that is not its public key's cannot ride an endorsement of that public key.
    expect(verifyEndorsement({ key_id: ref(k0).key_id, public_key: k1.publicKey }, e, ref(k0))).toBe(false);
  });

  it("learns the new key when the key it replaced is trusted", () => {
    expect(endorsedKeys([ref(k0)], [endorsed(k1, k0), ref(k0)])).toEqual({ learned: [learnt(k1, k0)], unknown: [], revoked: [] });
  });

  it("follows a chain through two rotations, whatever the order of the list", () => {
    const list = [endorsed(k2, k1), endorsed(k1, k0), ref(k0)];
    expect(endorsedKeys([ref(k0)], list).learned).toEqual([learnt(k1, k0), learnt(k2, k1)]);
    expect(endorsedKeys([ref(k0)], [...list].reverse()).learned).toEqual([learnt(k1, k0), learnt(k2, k1)]);
  });

  it("refuses a forged endorsement: signed by a key other than the one it names", () => {
    const forged = { ...ref(k1), endorsement: { endorsed_by: ref(k0).key_id, signature: endorseEdgeKey(ref(k1), ref(k0), k3.secretKey).signature } };
    expect(endorsedKeys([ref(k0)], [forged])).toEqual({ learned: [], unknown: [{ key_id: ref(k1).key_id, reason: "bad_endorsement" }], revoked: [] });
  });

  it("refuses a signature over the same body in another domain (a receipt signature)", () => {
    const body = canonicalBytes({ endorsed_by: ref(k0).key_id, key_id: ref(k1).key_id, public_key: k1.publicKey });
    const asReceipt = { ...ref(k1), endorsement: { endorsed_by: ref(k0).key_id, signature: signDomain(RECEIPT_DOMAIN, body, k0.secretKey) } };
    expect(endorsedKeys([ref(k0)], [asReceipt]).learned).toEqual([]);
    const asEndorsement = { ...ref(k1), endorsement: { endorsed_by: ref(k0).key_id, signature: signDomain(EDGE_KEY_DOMAIN, body, k0.secretKey) } };
    expect(endorsedKeys([ref(k0)], [asEndorsement]).learned).toEqual([learnt(k1, k0)]);
  });

  it("a chain broken in the middle learns up to the break only", () => {
    const broken = { ...endorsed(k2, k1), public_key: k3.publicKey, key_id: keyIdOf(k3.publicKey) };
    expect(endorsedKeys([ref(k0)], [broken, endorsed(k1, k0)])).toEqual({ learned: [learnt(k1, k0)], unknown: [{ key_id: ref(k3).key_id, reason: "bad_endorsement" }], revoked: [] });
  });

  it("a loop of keys endorsing each other, none trusted, learns nothing (and ends)", () => {
    const loop = [endorsed(k1, k2), endorsed(k2, k1)];
    expect(endorsedKeys([ref(k0)], loop)).toEqual({
      learned: [], unknown: [{ key_id: ref(k1).key_id, reason: "unendorsed" }, { key_id: ref(k2).key_id, reason: "unendorsed" }], revoked: [],
    });
    // With a trusted key in the loop, the rest of it is learned once.
    expect(endorsedKeys([ref(k1)], [...loop, endorsed(k1, k2)]).learned).toEqual([learnt(k2, k1)]);
  });

  it("never replaces a trusted key, and ignores entries that are not keys", () => {
    const impostor = { key_id: ref(k0).key_id, public_key: k3.publicKey, endorsement: endorseEdgeKey({ key_id: ref(k0).key_id, public_key: k3.publicKey }, ref(k0), k0.secretKey) };
    expect(endorsedKeys([ref(k0)], [impostor, null, "x", { key_id: 1 }, { ...ref(k1), endorsement: { endorsed_by: ref(k0).key_id, signature: "zz" } }])).toEqual({
      learned: [], unknown: [{ key_id: ref(k1).key_id, reason: "unendorsed" }], revoked: [],
    });
    expect(endorsedKeys([ref(k0)], undefined)).toEqual({ learned: [], unknown: [], revoked: [] });
  });
});

describe("edge-key revocations", () => {
  /** `key` revoked by `by` (as the edge publishes a leaked key). */
  const revoked = (key: KeyPair, by: KeyPair): PublishedEdgeKey => ({ ...ref(key), revocation: revokeEdgeKey(ref(key), ref(by), by.secretKey) });

  it("verifies the key it revokes, by the key it names, in its own domain, and never a key revoking itself", () => {
    const r = revokeEdgeKey(ref(k1), ref(k2), k2.secretKey);
    expect(verifyRevocation(ref(k1), r, ref(k2))).toBe(true);
    expect(verifyRevocation(ref(k0), r, ref(k2))).toBe(false);
    expect(verifyRevocation(ref(k1), r, ref(k3))).toBe(false);
    expect(verifyRevocation(ref(k1), revokeEdgeKey(ref(k1), ref(k1), k1.secretKey), ref(k1))).toBe(false);
    const asEndorsement = { revoked_by: ref(k2).key_id, signature: signDomain(EDGE_KEY_DOMAIN, canonicalBytes({ key_id: ref(k1).key_id, public_key: k1.publicKey, revoked_by: ref(k2).key_id }), k2.secretKey) };
    expect(verifyRevocation(ref(k1), asEndorsement, ref(k2))).toBe(false);
  });

  it("the edge after a leak of k1: k2 endorsed by k0 past it, k1 revoked by k2 — a site trusting k0 and k1 learns k2 and drops k1", () => {
    const list: PublishedEdgeKey[] = [endorsed(k2, k0), revoked(k1, k2), ref(k0)];
    expect(endorsedKeys([ref(k0), ref(k1)], list)).toEqual({ learned: [learnt(k2, k0)], unknown: [], revoked: [{ ...ref(k1), revocation: list[1]!.revocation! }] });
  });

  it("an endorsement chain through a revoked key no longer counts, and what it endorsed is not learned", () => {
    // The thief holding k1 endorses k3; the genuine edge revoked k1 with k2, which k0 endorses.
    const list = [endorsed(k3, k1), endorsed(k2, k0), revoked(k1, k2)];
    expect(endorsedKeys([ref(k0)], list).learned).toEqual([learnt(k2, k0)]);
    expect(endorsedKeys([ref(k0)], list).unknown).toEqual([{ key_id: ref(k3).key_id, reason: "unendorsed" }]);
    // A key the site already revoked endorses nothing, even with no revocation in the list.
    expect(endorsedKeys([ref(k0)], [endorsed(k3, k1), endorsed(k1, k0)], [ref(k1).key_id]).learned).toEqual([]);
  });

  it("a revocation signed by a key the site cannot reach, or forged, revokes nothing", () => {
    expect(endorsedKeys([ref(k0), ref(k1)], [revoked(k1, k3)]).revoked).toEqual([]);
    const forged = { ...ref(k1), revocation: { revoked_by: ref(k0).key_id, signature: revokeEdgeKey(ref(k1), ref(k0), k3.secretKey).signature } };
    expect(endorsedKeys([ref(k0), ref(k1)], [forged]).revoked).toEqual([]);
  });
});
