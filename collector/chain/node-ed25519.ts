// Ed25519 through node:crypto (OpenSSL) for the protocol's signatures (shared/protocol/signing.ts
// `useNativeEd25519`): a verification costs ~0.09 ms here against ~1.9 ms in the pure-JS library,
// and `verify` checks two signatures per receipt line (a year of a daemon syncing every minute:
// ~525,000 lines, ~33 minutes of signatures before, under 2 now). Same answers as the library:
// Ed25519 signatures are deterministic, so signing gives the very same bytes; OpenSSL verifies
// strictly (RFC 8032: canonical encodings, the cofactorless equation) where the library accepts the
// ZIP-215 superset, so whatever OpenSSL accepts the library accepts too — a site can never trust a
// receipt here that the library would refuse (test/collector/chain/node-ed25519.test.ts).
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import type { NativeEd25519 } from "../../shared/protocol/signing.ts";

/** DER before a raw 32-byte key: SubjectPublicKeyInfo (RFC 8410) for a public key, PKCS #8 for a seed. */
const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
/** Keys kept as KeyObjects (a site knows a few: its own, the edge's current and previous ones). */
const MAX_KEYS = 64;

const publicKeys = new Map<string, KeyObject | null>();
const privateKeys = new Map<string, KeyObject>();

function cached<T>(cache: Map<string, T>, raw: Uint8Array, make: (der: Buffer) => T, prefix: Buffer): T {
  const hex = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString("hex");
  let key = cache.get(hex);
  if (key === undefined) {
    key = make(Buffer.concat([prefix, raw]));
    if (cache.size >= MAX_KEYS) cache.clear();
    cache.set(hex, key);
  }
  return key;
}

/** The public key as a KeyObject, or null when OpenSSL refuses its bytes (not a point): no signature verifies then. */
function publicKey(raw: Uint8Array): KeyObject | null {
  return cached(publicKeys, raw, (der) => {
    try {
      return createPublicKey({ key: der, format: "der", type: "spki" });
    } catch {
      return null;
    }
  }, SPKI_PREFIX);
}

export const nodeEd25519: NativeEd25519 = {
  sign(message, secretKey) {
    if (secretKey.length !== 32) throw new RangeError(`an Ed25519 secret key is 32 bytes, not ${secretKey.length}`);
    const key = cached(privateKeys, secretKey, (der) => createPrivateKey({ key: der, format: "der", type: "pkcs8" }), PKCS8_PREFIX);
    return new Uint8Array(sign(null, message, key));
  },
  verify(signature, message, raw) {
    if (signature.length !== 64 || raw.length !== 32) return false;
    const key = publicKey(raw);
    if (key === null) return false;
    try {
      return verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};
