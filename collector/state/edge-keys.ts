// The edge's receipt-signing keys this site trusts: learned at enrollment, refreshed from
// GET /v1/keys when a receipt names a key_id we have not seen.
import { endorsedKeys, keyIdOf } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { readJsonFile, writeJsonFile } from "./json-file.ts";
import type { StatePaths } from "./state-dir.ts";

export interface EdgeKey { key_id: string; public_key: string }

const HEX64 = /^[0-9a-f]{64}$/;

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
 * and does not verify is left out: the edge contradicts itself, and its receipts stay refused.
 */
export function keysOverTls(trusted: EdgeKey[], offered: unknown): EdgeKey[] {
  const broken = new Set(endorsedKeys(trusted, offered).unknown.filter((k) => k.reason === "bad_endorsement").map((k) => k.key_id));
  return normaliseEdgeKeys(offered).filter((k) => !broken.has(k.key_id));
}

export async function loadEdgeKeys(paths: StatePaths): Promise<EdgeKey[]> {
  const raw = await readJsonFile<{ keys?: unknown }>(paths.edgeKeys);
  return raw ? normaliseEdgeKeys(raw.keys) : [];
}

/** Keeps every key seen so far: old receipts must stay verifiable after the edge rotates. */
export async function mergeEdgeKeys(paths: StatePaths, fresh: EdgeKey[]): Promise<EdgeKey[]> {
  const known = await loadEdgeKeys(paths);
  const byId = new Map(known.map((k) => [k.key_id, k]));
  for (const k of fresh) byId.set(k.key_id, k);
  const keys = [...byId.values()];
  await writeJsonFile(paths.edgeKeys, { keys });
  return keys;
}
