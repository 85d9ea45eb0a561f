// Ed25519 keys and the domain-separated signatures of protocol v1 (DESIGN.md §4, §7):
// every signed message starts with "tally/<what>/v1\n" so a signature can never be replayed
// as another kind of message.
import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { canonicalBytes, sha256Hex } from "./canonical.ts";
import type { Checkpoint, Receipt } from "./schema.ts";

// @noble/ed25519 needs a synchronous SHA-512 for its sync API (no WebCrypto round trips).
ed.hashes.sha512 = sha512;

export const CHECKPOINT_DOMAIN = "tally/checkpoint/v1\n";
export const RECEIPT_DOMAIN = "tally/receipt/v1\n";
export const WEBHOOK_DOMAIN = "tally/webhook/v1\n";

const encoder = new TextEncoder();

export interface KeyPair { secretKey: string; publicKey: string }

export function generateKeyPair(): KeyPair {
  const secret = ed.utils.randomSecretKey();
  return { secretKey: bytesToHex(secret), publicKey: bytesToHex(ed.getPublicKey(secret)) };
}

export function publicKeyOf(secretKeyHex: string): string {
  return bytesToHex(ed.getPublicKey(hexToBytes(secretKeyHex)));
}

/** A short, stable id for a public key: `edk_` + 16 hex of its SHA-256. */
export function keyIdOf(publicKeyHex: string): string {
  return `edk_${sha256Hex(hexToBytes(publicKeyHex)).slice(0, 16)}`;
}

function domainMessage(domain: string, body: Uint8Array): Uint8Array {
  const prefix = encoder.encode(domain);
  const out = new Uint8Array(prefix.length + body.length);
  out.set(prefix, 0);
  out.set(body, prefix.length);
  return out;
}

/**
 * Ed25519 done natively where the platform has it: the collector on Node (node:crypto,
 * collector/chain/node-ed25519.ts) verifies ~20× as fast as the pure-JS library, which is what
 * `verify` on a year of receipts (two signatures a line) or an import of a long trip's replies
 * spends its time on. It must answer as the library does: the same (deterministic) signatures,
 * and no signature accepted that the library refuses. The Worker has no synchronous native
 * Ed25519 and keeps the library.
 */
export interface NativeEd25519 {
  sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array;
  /** False, never a throw, for a malformed key or signature. */
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
}

let native: NativeEd25519 | undefined;

/** Signs and verifies with `impl` from now on (undefined: the library again). */
export function useNativeEd25519(impl: NativeEd25519 | undefined): void {
  native = impl;
}

export function nativeEd25519(): NativeEd25519 | undefined {
  return native;
}

export function signDomain(domain: string, body: Uint8Array, secretKeyHex: string): string {
  const message = domainMessage(domain, body), secret = hexToBytes(secretKeyHex);
  return bytesToHex(native ? native.sign(message, secret) : ed.sign(message, secret));
}

export function verifyDomain(domain: string, body: Uint8Array, signatureHex: string, publicKeyHex: string): boolean {
  try {
    const signature = hexToBytes(signatureHex), message = domainMessage(domain, body), key = hexToBytes(publicKeyHex);
    return native ? native.verify(signature, message, key) : ed.verify(signature, message, key);
  } catch {
    return false;
  }
}

/** The bytes a checkpoint signature signs, for a verifier of its own (the edge's WebCrypto). */
export const checkpointMessage = (cp: Checkpoint) => domainMessage(CHECKPOINT_DOMAIN, canonicalBytes(cp));
export const signCheckpoint = (cp: Checkpoint, secretKeyHex: string) => signDomain(CHECKPOINT_DOMAIN, canonicalBytes(cp), secretKeyHex);
export const verifyCheckpoint = (cp: Checkpoint, sig: string, publicKeyHex: string) => verifyDomain(CHECKPOINT_DOMAIN, canonicalBytes(cp), sig, publicKeyHex);
export const signReceipt = (r: Receipt, secretKeyHex: string) => signDomain(RECEIPT_DOMAIN, canonicalBytes(r), secretKeyHex);
export const verifyReceipt = (r: Receipt, sig: string, publicKeyHex: string) => verifyDomain(RECEIPT_DOMAIN, canonicalBytes(r), sig, publicKeyHex);

/** Webhook signature over "tally/webhook/v1\n" + t + "\n" + body (DESIGN.md §7). */
export function signWebhook(t: number, body: string, secretKeyHex: string): string {
  return signDomain(WEBHOOK_DOMAIN, encoder.encode(`${t}\n${body}`), secretKeyHex);
}
export function verifyWebhook(t: number, body: string, sig: string, publicKeyHex: string): boolean {
  return verifyDomain(WEBHOOK_DOMAIN, encoder.encode(`${t}\n${body}`), sig, publicKeyHex);
}
