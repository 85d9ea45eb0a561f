// A batch's checkpoint signature checked by workerd's native Ed25519 (WebCrypto) before the DO's
// transaction, so the pure-JS library inside it (~1.3 ms a verification, an eighth of an accepted
// batch's CPU: bench/profile/edge-cpu-profile.ts) runs only for what the native check refused.
// WebCrypto is async, and nothing may await inside transactionSync: the key is read beforehand,
// a hint only — verifyBatch takes the result only for the signer it finds in force inside the
// transaction (CheckedSignature), and checks any other key itself.
// Only an acceptance is passed on: BoringSSL verifies strictly (RFC 8032: S below the group order,
// the cofactorless equation, R compared as bytes) where the library accepts the ZIP-215 superset,
// so what it accepts the library accepts; what it refuses the library still decides, and a batch
// gets exactly the answer it got before (test/worker/native-ed25519.test.ts).
import {
  checkpointMessage, initialChainState, keyInForce, type Batch, type CanonicalHash, type ChainState, type CheckedSignature,
} from "../../shared/protocol/index.ts";
import { hexToBytes } from "@noble/hashes/utils.js";
import { recordHashes } from "./apply-batch.ts";
import { chainState, loadChain, type CollectorIdentity } from "./chains.ts";

/** Whether WebCrypto's Ed25519 accepts `signature` (hex) over `message` for `publicKey` (hex);
 *  false, never a throw, for bytes that are no key or no signature. */
export async function nativeVerify(signature: string, message: Uint8Array, publicKey: string): Promise<boolean> {
  try {
    const key = await crypto.subtle.importKey("raw", hexToBytes(publicKey), { name: "Ed25519" }, false, ["verify"]);
    return await crypto.subtle.verify({ name: "Ed25519" }, key, hexToBytes(signature), message);
  } catch {
    return false;
  }
}

/** What a batch gets natively before its transaction: its records' hashes (recordHashes) and its
 *  signature, if WebCrypto accepted it. Both are hints that verifyBatch checks again inside. */
export interface Prechecked { hashes?: readonly CanonicalHash[]; checked?: CheckedSignature }

/** Each body hashed and its signature checked for the key in force at its first record as the
 *  chain stands now (read once for all: a bundle's later batches past a rotation inside it get no
 *  acceptance, and the library verifies them in their transactions). */
export async function precheck(sql: SqlStorage, who: CollectorIdentity, bodies: unknown[]): Promise<Prechecked[]> {
  const chain = loadChain(sql, who.collector_id);
  const state = chain ? chainState(chain) : initialChainState(who.collector_id, who.public_key);
  return Promise.all(bodies.map(async (body) => ({ hashes: await recordHashes(body), checked: await checkSignature(state, body) })));
}

/** The batch body's signature if WebCrypto accepts it for the key in force at its first record;
 *  undefined when it does not (or the body is not a batch). */
async function checkSignature(state: ChainState, body: unknown): Promise<CheckedSignature | undefined> {
  const { checkpoint, signature, records } = (typeof body === "object" && body !== null ? body : {}) as Partial<Batch>;
  const first = Array.isArray(records) ? (records[0] as { seq?: unknown } | undefined)?.seq : undefined;
  if (typeof signature !== "string" || typeof checkpoint !== "object" || checkpoint === null || typeof first !== "number") return undefined;
  const signer = keyInForce(state, first);
  let message: Uint8Array;
  try {
    message = checkpointMessage(checkpoint);
  } catch {
    return undefined; // not canonical JSON: verifyBatch refuses its shape
  }
  return await nativeVerify(signature, message, signer) ? { checkpoint, signature, public_key: signer } : undefined;
}
