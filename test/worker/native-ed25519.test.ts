// The ContractDO checks a batch's signature with workerd's native Ed25519 (WebCrypto) before its
// transaction (worker/contract/batch-signature.ts) and passes on only an acceptance; the library
// decides everything else. That is sound only if WebCrypto never accepts what the library refuses:
// checked here, in workerd, on honest signatures, on a bit flipped in the signature, message or
// key, and on the small-order and non-canonical encodings where ZIP-215 (the library) and RFC 8032
// (BoringSSL) part ways. And an accepted batch then runs no library verification at all.
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import * as ed from "@noble/ed25519";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { nativeVerify } from "../../worker/contract/batch-signature.ts";
import { useNativeEd25519 } from "../../shared/protocol/index.ts";
import { enrolledSite, ok, postBatch } from "./edge-fixture.ts";
import { flipBit } from "../support/flip-bit.ts";

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ minLength: 1, maxLength: 300 });

function library(signature: Uint8Array, msg: Uint8Array, pub: Uint8Array): boolean {
  try {
    return ed.verify(signature, msg, pub);
  } catch {
    return false;
  }
}

/** Small-order points (orders 1, 2, 4, 8) and non-canonical encodings (y ≥ p, x = 0 with the sign bit). */
const ODD_POINTS = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000080",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0000000000000000000000000000000000000000000000000000000000000080",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

afterEach(() => useNativeEd25519(undefined));

describe("batch signatures through workerd's native Ed25519", () => {
  it("accepts the library's honest signatures", async () => {
    await fc.assert(fc.asyncProperty(seed, message, async (secret, msg) => {
      const signature = ed.sign(msg, secret), pub = ed.getPublicKey(secret);
      expect(await nativeVerify(bytesToHex(signature), msg, bytesToHex(pub))).toBe(true);
    }), { numRuns: 100 });
  });

  it("never accepts what the library refuses: a bit flipped in the signature, the message or the key", async () => {
    let refused = 0;
    await fc.assert(fc.asyncProperty(seed, message, fc.constantFrom("signature", "message", "key"), fc.nat(), async (secret, msg, what, bit) => {
      let signature = ed.sign(msg, secret), pub = ed.getPublicKey(secret), m: Uint8Array<ArrayBuffer> = new Uint8Array(msg);
      if (what === "signature") signature = flipBit(signature, bit % 512);
      else if (what === "message") m = flipBit(msg, bit);
      else pub = flipBit(pub, bit % 256);
      const native = await nativeVerify(bytesToHex(signature), m, bytesToHex(pub));
      if (native) expect(library(signature, m, pub)).toBe(true);
      if (!native) refused++;
    }), { numRuns: 200 });
    expect(refused).toBe(200);
  });

  it("never accepts what the library refuses on small-order and non-canonical keys and R, S = 0 or ≥ L", async () => {
    const msg = new TextEncoder().encode("tally/checkpoint/v1\n{}");
    const scalars = ["00".repeat(32), "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"]; // 0 and L
    let accepted = 0;
    for (const a of ODD_POINTS) for (const r of ODD_POINTS) for (const s of scalars) {
      const signature = r + s;
      const native = await nativeVerify(signature, msg, a);
      if (native) {
        accepted++;
        expect(library(hexToBytes(signature), msg, hexToBytes(a)), `A=${a} R=${r} S=${s}`).toBe(true);
      }
    }
    // BoringSSL accepts some of them (12 with this workerd): the check above is not vacuous.
    expect(accepted).toBeGreaterThan(0);
  });

  it("answers false for bytes that are no key or no signature", async () => {
    const secret = new Uint8Array(32).fill(7), msg = new Uint8Array([1, 2, 3]);
    const signature = bytesToHex(ed.sign(msg, secret)), pub = bytesToHex(ed.getPublicKey(secret));
    expect(await nativeVerify(signature.slice(0, 126), msg, pub)).toBe(false);
    expect(await nativeVerify(signature, msg, pub.slice(0, 62))).toBe(false);
    expect(await nativeVerify("zz" + signature.slice(2), msg, pub)).toBe(false);
  });

  it("an accepted batch runs no library verification; a forged one is still refused by it", async () => {
    const site = await enrolledSite();
    for (let i = 0; i < 4; i++) site.chain.usage();
    let calls = 0;
    useNativeEd25519({
      sign: (m, k) => ed.sign(m, k),
      verify: (s, m, k) => (calls++, library(s, m, k)),
    });
    await ok(await postBatch(site.collectorId, site.chain.batch(1, 2)));
    expect(calls).toBe(0);
    const forged = site.chain.batch(3, 4, bytesToHex(new Uint8Array(32).fill(9)));
    const refused = await postBatch(site.collectorId, forged);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: string }).error).toBe("bad_signature");
    expect(calls).toBe(1);
  });
});
