// The collector signs and verifies through node:crypto (collector/chain/node-ed25519.ts) instead of
// the pure-JS library: it must give the very same signatures and never accept one the library
// refuses — on honest signatures, on signatures, messages and keys with a flipped bit, and on bytes
// that are no key or no signature at all.
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import * as ed from "@noble/ed25519";
import { bytesToHex } from "@noble/hashes/utils.js";
import { nodeEd25519 } from "../../../collector/chain/node-ed25519.ts";
import { generateKeyPair, nativeEd25519, RECEIPT_DOMAIN, signDomain, useNativeEd25519, verifyDomain } from "../../../shared/protocol/index.ts";
import { flipBit } from "../../support/flip-bit.ts";

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ minLength: 0, maxLength: 700 });

afterEach(() => useNativeEd25519(undefined));

describe("Ed25519 through node:crypto", () => {
  it("signs exactly as the library does, and both verify it", () => {
    fc.assert(fc.property(seed, message, (secret, msg) => {
      const signature = nodeEd25519.sign(msg, secret);
      expect(bytesToHex(signature)).toBe(bytesToHex(ed.sign(msg, secret)));
      const pub = ed.getPublicKey(secret);
      expect(nodeEd25519.verify(signature, msg, pub)).toBe(true);
      expect(ed.verify(signature, msg, pub)).toBe(true);
    }), { numRuns: 200 });
  });

  it("refuses what the library refuses: a bit flipped in the signature, the message or the key", () => {
    let refused = 0;
    fc.assert(fc.property(seed, message.filter((m) => m.length > 0), fc.constantFrom("signature", "message", "key"), fc.nat(), (secret, msg, what, bit) => {
      let signature = ed.sign(msg, secret), pub = ed.getPublicKey(secret), m: Uint8Array<ArrayBuffer> = new Uint8Array(msg);
      if (what === "signature") signature = flipBit(signature, bit % 512);
      else if (what === "message") m = flipBit(msg, bit);
      else pub = flipBit(pub, bit % 256);
      let library: boolean;
      try {
        library = ed.verify(signature, m, pub);
      } catch {
        library = false;
      }
      const native = nodeEd25519.verify(signature, m, pub);
      if (native) expect(library).toBe(true); // never more lenient
      expect(native).toBe(library);
      if (!native) refused++;
    }), { numRuns: 300 });
    expect(refused).toBe(300);
  });

  it("answers false, not a throw, for bytes that are no key or no signature", () => {
    const { publicKey, secretKey } = generateKeyPair();
    const msg = new TextEncoder().encode("receipt");
    const signature = nodeEd25519.sign(msg, Uint8Array.from(Buffer.from(secretKey, "hex")));
    const pub = Uint8Array.from(Buffer.from(publicKey, "hex"));
    expect(nodeEd25519.verify(signature.subarray(0, 63), msg, pub)).toBe(false);
    expect(nodeEd25519.verify(signature, msg, pub.subarray(0, 31))).toBe(false);
    expect(nodeEd25519.verify(signature, msg, new Uint8Array(32).fill(0xff))).toBe(false); // y ≥ p: not a canonical point
    expect(nodeEd25519.verify(new Uint8Array(64).fill(0xff), msg, pub)).toBe(false); // S ≥ L
    expect(() => nodeEd25519.sign(msg, new Uint8Array(31))).toThrow(RangeError);
  });

  it("is what the protocol's signing uses once installed, with the same hex in and out", () => {
    const { publicKey, secretKey } = generateKeyPair();
    const body = new TextEncoder().encode('{"acked_seq":1}');
    const library = signDomain(RECEIPT_DOMAIN, body, secretKey);
    let calls = 0;
    useNativeEd25519({ sign: (m, k) => (calls++, nodeEd25519.sign(m, k)), verify: (s, m, k) => (calls++, nodeEd25519.verify(s, m, k)) });
    expect(signDomain(RECEIPT_DOMAIN, body, secretKey)).toBe(library);
    expect(verifyDomain(RECEIPT_DOMAIN, body, library, publicKey)).toBe(true);
    expect(verifyDomain(RECEIPT_DOMAIN, body, library.replace(/^./, (c) => (c === "0" ? "1" : "0")), publicKey)).toBe(false);
    expect(verifyDomain(RECEIPT_DOMAIN, body, "zz", publicKey)).toBe(false); // not hex: refused before any signature check
    expect(calls).toBe(3);
  });

  it("is installed by the collector's CLI for every command", async () => {
    await import("../../../collector/cli.ts");
    expect(nativeEd25519()).toBe(nodeEd25519);
  });
});
