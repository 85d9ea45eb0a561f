// The edge's receipt-signing keys this site trusts: learned at enrollment, refreshed from
// GET /v1/keys when a receipt names a key_id we have not seen, and at least daily while the site
// syncs (`checked_at`, EDGE_KEYS_CHECK_MS): a revocation reaches a site within a day even when the
// edge's current key is one the site already knows. Keys revoked since (by the edge, a
// revocation kept as evidence, or by the operator's distrust-edge-key) move to `revoked`: never
// trusted again, kept only so `verify` can still check and name the receipts they signed before.
import { endorsedKeys, keyIdOf, type Revocation } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { readJsonFile, writeJsonFile } from "./json-file.ts";
import type { StatePaths } from "./state-dir.ts";

export interface EdgeKey {
  key_id: string;
  public_key: string;
  /** The key whose endorsement in a carried reply taught this site this key. Absent when the edge
   *  vouched for it itself (enrollment, GET /v1/keys over TLS) or a person did (trust-edge-key). */
  endorsed_by?: string;
}
/** A key this site no longer trusts: the edge's `revocation`, the operator's `distrusted_at`, or
 *  `learned_through`: the revoked key its endorsement chain went through. */
export interface RevokedEdgeKey extends EdgeKey { revocation?: Revocation; distrusted_at?: string; learned_through?: string }

/**
 * The keys of `keys` learned, through endorsements, from a key in `revoked` (directly or down a
 * chain), but those in `vouched` (listed again by the edge, or endorsed again through a chain that
 * skips revoked keys): each with the revoked key its chain went through. A leaked key may have
 * endorsed a key of the thief's; once it is revoked, what it taught goes with it.
 */
export function learnedThrough(keys: EdgeKey[], revoked: Iterable<string>, vouched: ReadonlySet<string> = new Set()): Map<string, string> {
  const root = new Map<string, string>([...revoked].map((id) => [id, id]));
  const tainted = new Map<string, string>();
  for (let grew = true; grew;) {
    grew = false;
    for (const k of keys) {
      const through = k.endorsed_by === undefined ? undefined : root.get(k.endorsed_by);
      if (through === undefined || root.has(k.key_id) || vouched.has(k.key_id)) continue;
      root.set(k.key_id, through);
      tainted.set(k.key_id, through);
      grew = true;
    }
  }
  return tainted;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** How long a syncing site goes without reading GET /v1/keys when every receipt names a key it knows. */
export const EDGE_KEYS_CHECK_MS = 24 * 3600_000;

interface StoredEdgeKeys { keys: EdgeKey[]; revoked: RevokedEdgeKey[]; checkedAt: string | undefined }

/** An edge public key as GET /v1/keys lists it: 64 lower-case hex digits. */
export function isEdgePublicKey(s: string): boolean {
  return HEX64.test(s);
}

/** Accepts `[{key_id, public_key}]` or bare public keys (key_id derived as the edge does). */
export function normaliseEdgeKeys(raw: unknown): EdgeKey[] {
  if (!Array.isArray(raw)) throw new CollectorError("bad_input", "edge keys are not a list");
  return raw.map((k): EdgeKey => {
    if (typeof k === "string" && HEX64.test(k)) return { key_id: keyIdOf(k), public_key: k };
    const o = k as { key_id?: unknown; public_key?: unknown } | null;
    if (typeof o?.public_key === "string" && HEX64.test(o.public_key)) {
      return { key_id: typeof o.key_id === "string" ? o.key_id : keyIdOf(o.public_key), public_key: o.public_key };
    }
    throw new CollectorError("bad_input", `not an edge key: ${JSON.stringify(k)}`);
  });
}

/**
 * GET /v1/keys's list as the site takes it over TLS: TLS to the site's own server is the trust,
 * so a key without an endorsement is accepted as before (an edge that never rotated, or one
 * whose operator dropped the previous seeds). Only a key whose endorsement names a key we know
 * and does not verify is left out: the edge contradicts itself, and its receipts stay refused. A
 * key the list revokes (a revocation by another key it lists) is revoked here too.
 */
export function keysOverTls(trusted: EdgeKey[], offered: unknown): { keys: EdgeKey[]; revoked: RevokedEdgeKey[] } {
  const broken = new Set(endorsedKeys(trusted, offered).unknown.filter((k) => k.reason === "bad_endorsement").map((k) => k.key_id));
  const listed = normaliseEdgeKeys(offered);
  const revoked = endorsedKeys(listed, offered).revoked;
  return { keys: listed.filter((k) => !broken.has(k.key_id) && !revoked.some((r) => r.key_id === k.key_id)), revoked };
}

async function readEdgeKeys(paths: StatePaths): Promise<StoredEdgeKeys> {
  const raw = await readJsonFile<{ keys?: unknown; revoked?: unknown; checked_at?: unknown }>(paths.edgeKeys);
  if (!raw) return { keys: [], revoked: [], checkedAt: undefined };
  const revoked = raw.revoked === undefined ? [] : normaliseEdgeKeys(raw.revoked).map((k, i) => ({ ...(raw.revoked as RevokedEdgeKey[])[i], ...k }));
  const checkedAt = typeof raw.checked_at === "string" && Number.isFinite(Date.parse(raw.checked_at)) ? raw.checked_at : undefined;
  const keys = normaliseEdgeKeys(raw.keys).map((k, i) => {
    const by = (raw.keys as Array<{ endorsed_by?: unknown }>)[i]?.endorsed_by;
    return typeof by === "string" ? { ...k, endorsed_by: by } : k;
  });
  return { keys, revoked, checkedAt };
}

/**
 * Whether the edge's own list is due (EDGE_KEYS_CHECK_MS since the last one read, never read, or
 * read "in the future": a clock set back must not postpone it).
 */
export async function edgeKeysDue(paths: StatePaths, now: number): Promise<boolean> {
  return listDue((await readEdgeKeys(paths)).checkedAt, now);
}

function listDue(checkedAt: string | undefined, now: number): boolean {
  if (checkedAt === undefined) return true;
  const age = now - Date.parse(checkedAt);
  return age < 0 || age >= EDGE_KEYS_CHECK_MS;
}

/** What a sync pass starts from, in one read: the keys this site trusts, and whether the edge's list is due. */
export async function edgeKeysForSync(paths: StatePaths, now: number): Promise<{ keys: EdgeKey[]; listDue: boolean }> {
  const stored = await readEdgeKeys(paths);
  return { keys: trustedOf(stored), listDue: listDue(stored.checkedAt, now) };
}

/** The keys this site trusts (never a revoked one). */
export async function loadEdgeKeys(paths: StatePaths): Promise<EdgeKey[]> {
  return trustedOf(await readEdgeKeys(paths));
}

function trustedOf({ keys, revoked }: StoredEdgeKeys): EdgeKey[] {
  return keys.filter((k) => !revoked.some((r) => r.key_id === k.key_id));
}

/** For `status`: the keys trusted, those no longer (and why), and when the edge's list was last read. */
export async function edgeKeysView(paths: StatePaths): Promise<{ trusted: string[]; revoked: Array<{ key_id: string; why: "revoked" | "distrusted" | "learned_through_revoked" }>; checked_at: string | null }> {
  const stored = await readEdgeKeys(paths);
  const { revoked, checkedAt } = stored;
  return {
    trusted: trustedOf(stored).map((k) => k.key_id),
    revoked: revoked.map((k) => ({ key_id: k.key_id, why: k.revocation ? "revoked" as const : k.distrusted_at ? "distrusted" as const : "learned_through_revoked" as const })),
    checked_at: checkedAt ?? null,
  };
}

/** The keys revoked at this site, in the order revoked. */
export async function loadRevokedEdgeKeys(paths: StatePaths): Promise<RevokedEdgeKey[]> {
  return (await readEdgeKeys(paths)).revoked;
}

/**
 * Keeps every key seen so far (old receipts must stay verifiable after the edge rotates), adds
 * `fresh` but a revoked one, and moves `revoke` to the revoked list, with the keys learned through
 * a revoked key that `fresh` does not vouch for again (learnedThrough) — one write. A key dropped
 * only for what it was learned through comes back when `fresh` brings it again. `checkedAt`: the
 * keys came from the edge itself (its enrollment answer or GET /v1/keys), read at that time; null:
 * the edge's list is due now (the site moved to another edge); undefined: unchanged.
 * Returns the keys trusted now.
 */
export async function mergeEdgeKeys(paths: StatePaths, fresh: EdgeKey[], revoke: RevokedEdgeKey[] = [], checkedAt?: number | null): Promise<EdgeKey[]> {
  const { keys: known, revoked: before, checkedAt: checkedBefore } = await readEdgeKeys(paths);
  const vouched = new Set(fresh.map((k) => k.key_id));
  const revoked = before.filter((k) => k.learned_through === undefined || !vouched.has(k.key_id));
  for (const r of revoke) {
    const at = revoked.findIndex((k) => k.key_id === r.key_id);
    if (at < 0) revoked.push(r);
    else if (revoked[at]!.learned_through !== undefined) revoked[at] = r; // the edge's own revocation is the stronger evidence
  }
  const out = new Set(revoked.map((k) => k.key_id));
  const byId = new Map(known.filter((k) => !out.has(k.key_id)).map((k) => [k.key_id, k]));
  for (const k of fresh) if (!out.has(k.key_id)) byId.set(k.key_id, k);
  for (const [id, through] of learnedThrough([...byId.values()], out, vouched)) {
    revoked.push({ ...byId.get(id)!, learned_through: through });
    byId.delete(id);
  }
  const keys = [...byId.values()];
  await writeEdgeKeys(paths, { keys, revoked, checkedAt: checkedAt === undefined ? checkedBefore : checkedAt === null ? undefined : new Date(checkedAt).toISOString() });
  return keys;
}

/** Trusts again a key the operator distrusted (a mistaken distrust-edge-key). */
export async function restoreEdgeKey(paths: StatePaths, key: EdgeKey): Promise<void> {
  const stored = await readEdgeKeys(paths);
  await writeEdgeKeys(paths, { ...stored, keys: [...stored.keys, key], revoked: stored.revoked.filter((k) => k.key_id !== key.key_id) });
}

function writeEdgeKeys(paths: StatePaths, { keys, revoked, checkedAt }: StoredEdgeKeys): Promise<void> {
  return writeJsonFile(paths.edgeKeys, { keys, ...(revoked.length > 0 ? { revoked } : {}), ...(checkedAt !== undefined ? { checked_at: checkedAt } : {}) });
}
