// Edge-key endorsements (DESIGN.md §4): when the edge rotates its receipt-signing key, the key it
// replaced signs the new one, over "tally/edge-key/v1\n" + canonical {endorsed_by, key_id,
// public_key}. A site that trusts an old key can then learn the new one from a file carried by
// hand (an air-gapped bundle reply) without trusting the file or whoever carried it: each link of
// the chain old → … → new is checked here, by the collector and the edge alike.
// Revocations: after a leak the edge lists the leaked key with a `revocation` signed by its current
// key over "tally/edge-key-revocation/v1\n" + canonical {key_id, public_key, revoked_by}; a site
// that reaches the current key through endorsements not passing through a revoked key drops it.
import { canonicalBytes } from "./canonical.ts";
import { keyIdOf, signDomain, verifyDomain } from "./signing.ts";

export const EDGE_KEY_DOMAIN = "tally/edge-key/v1\n";
export const EDGE_KEY_REVOCATION_DOMAIN = "tally/edge-key-revocation/v1\n";

export interface EdgeKeyRef { key_id: string; public_key: string }
/** `endorsed_by` (a key_id) signed this key. */
export interface Endorsement { endorsed_by: string; signature: string }
/** `revoked_by` (a key_id: the edge's current key) declared this key compromised. */
export interface Revocation { revoked_by: string; signature: string }
/** As `GET /v1/keys` and a bundle reply list them: the current key first, then older ones. */
export interface PublishedEdgeKey extends EdgeKeyRef { endorsement?: Endorsement; revocation?: Revocation }

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

function revokedBody(key: EdgeKeyRef, revokedBy: string): Uint8Array {
  return canonicalBytes({ key_id: key.key_id, public_key: key.public_key, revoked_by: revokedBy });
}

/** The revocation of `key` by the key whose seed is `revokerSeed` (deterministic: Ed25519). */
export function revokeEdgeKey(key: EdgeKeyRef, revoker: EdgeKeyRef, revokerSeed: string): Revocation {
  return { revoked_by: revoker.key_id, signature: signDomain(EDGE_KEY_REVOCATION_DOMAIN, revokedBody(key, revoker.key_id), revokerSeed) };
}

/** Whether `revoker` (another key) revoked `key`, whose id is its public key's. */
export function verifyRevocation(key: EdgeKeyRef, revocation: Revocation, revoker: EdgeKeyRef): boolean {
  return key.key_id === keyIdOf(key.public_key) && revoker.key_id !== key.key_id
    && revocation.revoked_by === revoker.key_id
    && verifyDomain(EDGE_KEY_REVOCATION_DOMAIN, revokedBody(key, revoker.key_id), revocation.signature, revoker.public_key);
}

function signedBy<K extends string>(raw: unknown, by: K): ({ [k in K]: string } & { signature: string }) | undefined {
  const e = raw as Record<string, unknown> | null | undefined;
  return typeof e === "object" && e !== null && typeof e[by] === "string" && typeof e.signature === "string" && HEX128.test(e.signature)
    ? { [by]: e[by], signature: e.signature } as { [k in K]: string } & { signature: string }
    : undefined;
}

/** An offered list entry, or undefined when it is not one (such an entry is never trusted). */
function offeredKey(raw: unknown): PublishedEdgeKey | undefined {
  const o = raw as { key_id?: unknown; public_key?: unknown; endorsement?: unknown; revocation?: unknown } | null;
  if (typeof o !== "object" || o === null || typeof o.key_id !== "string" || typeof o.public_key !== "string" || !HEX64.test(o.public_key)) return undefined;
  const endorsement = signedBy(o.endorsement, "endorsed_by");
  const revocation = signedBy(o.revocation, "revoked_by");
  return { key_id: o.key_id, public_key: o.public_key, ...(endorsement ? { endorsement } : {}), ...(revocation ? { revocation } : {}) };
}

/** A key the offered list revokes, with the revocation (kept as the site's evidence). */
export interface RevokedEdgeKey extends EdgeKeyRef { revocation: Revocation }

export interface EndorsedKeys {
  /** Offered keys not trusted before, each endorsed through a chain from a trusted key, in the
   *  order learned, with the key whose endorsement of it verified. */
  learned: Array<EdgeKeyRef & { endorsed_by: string }>;
  /** Offered keys that stay unknown, with why: `unendorsed` (no endorsement by a key trusted or
   *  learned) or `bad_endorsement` (its endorser is known, the signature does not verify). */
  unknown: { key_id: string; reason: "unendorsed" | "bad_endorsement" }[];
  /** Keys (trusted or offered) the list revokes with a revocation by a key trusted or learned. */
  revoked: RevokedEdgeKey[];
}

/**
 * The keys of `offered` (an untrusted list, e.g. a bundle reply's `edge_keys`) that `trusted`
 * vouches for: a key is learned when its endorser is trusted or already learned and the
 * endorsement verifies, repeated until nothing more is learned — so a chain through any number of
 * rotations works, in any order, and a loop of keys endorsing each other with no trusted key in
 * it learns nothing. A trusted key_id is never replaced by an offered key of another public key.
 * A key in `revoked` (the site's) or revoked by the list itself neither counts as trusted nor
 * endorses: whenever a verified revocation is found the chains are followed again without it, so
 * nothing learned through a revoked key survives.
 */
export function endorsedKeys(trusted: EdgeKeyRef[], offered: unknown, revoked: Iterable<string> = []): EndorsedKeys {
  const list = (Array.isArray(offered) ? offered.slice(0, MAX_OFFERED_EDGE_KEYS).map(offeredKey) : [])
    .filter((k): k is PublishedEdgeKey => k !== undefined);
  const out = new Set(revoked);
  const revocations: RevokedEdgeKey[] = [];
  for (;;) { // at most one pass per revocation in the list
    const chains = followChains(trusted.filter((k) => !out.has(k.key_id)), list.filter((k) => !out.has(k.key_id)));
    const fresh = list.filter((k) => {
      const by = k.revocation && !out.has(k.key_id) ? chains.known.get(k.revocation.revoked_by) : undefined;
      return by !== undefined && verifyRevocation(k, k.revocation!, by);
    });
    if (fresh.length === 0) return { learned: chains.learned, unknown: chains.unknown, revoked: revocations };
    for (const k of fresh) {
      out.add(k.key_id);
      revocations.push({ key_id: k.key_id, public_key: k.public_key, revocation: k.revocation! });
    }
  }
}

function followChains(trusted: EdgeKeyRef[], list: PublishedEdgeKey[]): Omit<EndorsedKeys, "revoked"> & { known: Map<string, EdgeKeyRef> } {
  const known = new Map(trusted.map((k) => [k.key_id, k]));
  const learned: Array<EdgeKeyRef & { endorsed_by: string }> = [];
  let pending = list.filter((k) => !known.has(k.key_id));
  for (let grew = true; grew;) {
    grew = false;
    pending = pending.filter((k) => {
      if (known.has(k.key_id)) return false; // listed twice: the first to verify stands
      const endorser = k.endorsement ? known.get(k.endorsement.endorsed_by) : undefined;
      if (!endorser || !verifyEndorsement(k, k.endorsement!, endorser)) return true;
      const key = { key_id: k.key_id, public_key: k.public_key };
      known.set(k.key_id, key);
      learned.push({ ...key, endorsed_by: endorser.key_id });
      grew = true;
      return false;
    });
  }
  const unknown = pending.map((k) => ({
    key_id: k.key_id,
    reason: k.endorsement && known.has(k.endorsement.endorsed_by) ? "bad_endorsement" as const : "unendorsed" as const,
  }));
  return { learned, unknown, known };
}
