// Edge-key endorsements (DESIGN.md §4): when the edge rotates its receipt-signing key, the key it
// replaced signs the new one, over "tally/edge-key/v1\n" + canonical {endorsed_by, key_id,
// public_key}. A site that trusts an old key can then learn the new one from a file carried by
// hand (an air-gapped bundle reply) without trusting the file or whoever carried it: each link of
// the chain old → … → new is checked here, by the collector and the edge alike.
import { canonicalBytes } from "./canonical.ts";
import { keyIdOf, signDomain, verifyDomain } from "./signing.ts";

export const EDGE_KEY_DOMAIN = "tally/edge-key/v1\n";

export interface EdgeKeyRef { key_id: string; public_key: string }
/** `endorsed_by` (a key_id) signed this key. */
export interface Endorsement { endorsed_by: string; signature: string }
/** As `GET /v1/keys` and a bundle reply list them: the current key first, then older ones. */
export interface PublishedEdgeKey extends EdgeKeyRef { endorsement?: Endorsement }

/** How many keys a list may offer; more is not a list an edge publishes (and bounds the closure). */
export const MAX_OFFERED_EDGE_KEYS = 64;

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

function endorsedBody(key: EdgeKeyRef, endorsedBy: string): Uint8Array {
  return canonicalBytes({ endorsed_by: endorsedBy, key_id: key.key_id, public_key: key.public_key });
}

/** The endorsement of `key` by the key whose seed is `endorserSeed` (deterministic: Ed25519). */
export function endorseEdgeKey(key: EdgeKeyRef, endorser: EdgeKeyRef, endorserSeed: string): Endorsement {
  return { endorsed_by: endorser.key_id, signature: signDomain(EDGE_KEY_DOMAIN, endorsedBody(key, endorser.key_id), endorserSeed) };
}

/** Whether `endorser` signed `key`, and `key`'s id is its public key's (so it cannot pose as another). */
export function verifyEndorsement(key: EdgeKeyRef, endorsement: Endorsement, endorser: EdgeKeyRef): boolean {
  return key.key_id === keyIdOf(key.public_key)
    && endorsement.endorsed_by === endorser.key_id
    && verifyDomain(EDGE_KEY_DOMAIN, endorsedBody(key, endorser.key_id), endorsement.signature, endorser.public_key);
}

/** An offered list entry, or undefined when it is not one (such an entry is never trusted). */
function offeredKey(raw: unknown): PublishedEdgeKey | undefined {
  const o = raw as { key_id?: unknown; public_key?: unknown; endorsement?: { endorsed_by?: unknown; signature?: unknown } } | null;
  if (typeof o !== "object" || o === null || typeof o.key_id !== "string" || typeof o.public_key !== "string" || !HEX64.test(o.public_key)) return undefined;
  const e = o.endorsement;
  const endorsement = typeof e === "object" && e !== null && typeof e.endorsed_by === "string" && typeof e.signature === "string" && HEX128.test(e.signature)
    ? { endorsed_by: e.endorsed_by, signature: e.signature }
    : undefined;
  return { key_id: o.key_id, public_key: o.public_key, ...(endorsement ? { endorsement } : {}) };
}

export interface EndorsedKeys {
  /** Offered keys not trusted before, each endorsed through a chain from a trusted key, in the order learned. */
  learned: EdgeKeyRef[];
  /** Offered keys that stay unknown, with why: `unendorsed` (no endorsement by a key trusted or
   *  learned) or `bad_endorsement` (its endorser is known, the signature does not verify). */
  unknown: { key_id: string; reason: "unendorsed" | "bad_endorsement" }[];
}

/**
 * The keys of `offered` (an untrusted list, e.g. a bundle reply's `edge_keys`) that `trusted`
 * vouches for: a key is learned when its endorser is trusted or already learned and the
 * endorsement verifies, repeated until nothing more is learned — so a chain through any number of
 * rotations works, in any order, and a loop of keys endorsing each other with no trusted key in
 * it learns nothing. A trusted key_id is never replaced by an offered key of another public key.
 */
export function endorsedKeys(trusted: EdgeKeyRef[], offered: unknown): EndorsedKeys {
  const list = Array.isArray(offered) ? offered.slice(0, MAX_OFFERED_EDGE_KEYS).map(offeredKey) : [];
  const known = new Map(trusted.map((k) => [k.key_id, k]));
  const learned: EdgeKeyRef[] = [];
  let pending = list.filter((k): k is PublishedEdgeKey => k !== undefined && !known.has(k.key_id));
  for (let grew = true; grew;) {
    grew = false;
    pending = pending.filter((k) => {
      if (known.has(k.key_id)) return false; // listed twice: the first to verify stands
      const endorser = k.endorsement ? known.get(k.endorsement.endorsed_by) : undefined;
      if (!endorser || !verifyEndorsement(k, k.endorsement!, endorser)) return true;
      const key = { key_id: k.key_id, public_key: k.public_key };
      known.set(k.key_id, key);
      learned.push(key);
      grew = true;
      return false;
    });
  }
  const unknown = pending.map((k) => ({
    key_id: k.key_id,
    reason: k.endorsement && known.has(k.endorsement.endorsed_by) ? "bad_endorsement" as const : "unendorsed" as const,
  }));
  return { learned, unknown };
}
