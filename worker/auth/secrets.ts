// Bearer secrets (API keys, enrollment and collector tokens): random, prefixed so a leaked one is
// recognisable, and stored only as SHA-256 hashes.
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";

export type SecretKind = "api_key" | "enrollment" | "collector" | "status_link";
const prefixes: Record<SecretKind, string> = { api_key: "tk", enrollment: "te", collector: "tc", status_link: "ts" };

/** 256 random bits, base64url, e.g. `tk_live_…` (`tk_test_…` outside production). */
export function newSecret(kind: SecretKind, production: boolean): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const body = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return `${prefixes[kind]}_${production ? "live" : "test"}_${body}`;
}

export function hashSecret(secret: string): string {
  return bytesToHex(sha256(new TextEncoder().encode(secret)));
}

/** Compares two secrets in time independent of where they differ (hashing first equalises lengths). */
export function secretsEqual(given: string, expected: string): boolean {
  const a = sha256(new TextEncoder().encode(given));
  const b = sha256(new TextEncoder().encode(expected));
  return crypto.subtle.timingSafeEqual(a, b);
}
