// The edge's receipt-signing keys, derived once per isolate: EDGE_SIGNING_KEY signs everything
// (receipts, webhooks, sealed answers); EDGE_SIGNING_KEYS_PREVIOUS, the seeds it replaced (newest
// first, comma-separated), are only published — each endorsing the key that replaced it
// (shared/protocol/edge-keys.ts) — so sites and tooling that trust an old key can learn the new one.
// EDGE_SIGNING_KEYS_REVOKED names previous keys (key ids) that leaked: each is published with a
// revocation by the current key, endorses nothing (the key after it is endorsed by the next key
// not revoked), and no answer sealed under it is opened.
import { endorseEdgeKey, keyIdOf, publicKeyOf, revokeEdgeKey, type PublishedEdgeKey } from "../../shared/protocol/index.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv, Env } from "../env.ts";
import { EdgeError } from "../errors.ts";

export interface EdgeKey { key_id: string; public_key: string; secret_key: string }
export interface EdgeKeys {
  current: EdgeKey;
  /** The previous keys not revoked, newest first. */
  previous: EdgeKey[];
  /** The previous keys EDGE_SIGNING_KEYS_REVOKED names: compromised, never used but to refuse. */
  revoked: EdgeKey[];
  /** What GET /v1/keys and bundle replies list: current first, each endorsed by the next in line. */
  published: PublishedEdgeKey[];
}

const SEED = /^[0-9a-fA-F]{64}$/;

function derive(seedHex: string): EdgeKey {
  const public_key = publicKeyOf(seedHex);
  return { key_id: keyIdOf(public_key), public_key, secret_key: seedHex };
}

let cached: EdgeKey | undefined;

/** The current key alone (the signing paths: they never need the previous ones). */
export function edgeKey(seedHex: string): EdgeKey {
  if (cached?.secret_key !== seedHex) cached = derive(seedHex);
  return cached;
}

/** The key configuration, or what is wrong with it (one sentence naming the secret and item). */
export function parseEdgeKeys(current: string, previous = "", revokedIds = ""): EdgeKeys | { problem: string } {
  if (!SEED.test(current)) return { problem: "EDGE_SIGNING_KEY must be 64 hex digits (a 32-byte Ed25519 seed)" };
  // Seeds are kept as written (sealed answers derive from the exact string); compared in lower case.
  const seeds = previous.trim() === "" ? [] : previous.split(",").map((s) => s.trim());
  const lower = [current, ...seeds].map((s) => s.toLowerCase());
  for (const [i, seed] of seeds.entries()) {
    const which = `EDGE_SIGNING_KEYS_PREVIOUS item ${i + 1}`;
    if (!SEED.test(seed)) return { problem: `${which} must be 64 hex digits (a previous EDGE_SIGNING_KEY seed; comma-separated, newest first)` };
    const first = lower.indexOf(lower[i + 1]!);
    if (first === 0) return { problem: `${which} is the current EDGE_SIGNING_KEY: list only the keys it replaced` };
    if (first !== i + 1) return { problem: `${which} repeats item ${first}` };
  }
  const chain = [derive(current), ...seeds.map(derive)];
  const revoked = new Set<string>();
  for (const [i, id] of (revokedIds.trim() === "" ? [] : revokedIds.split(",").map((s) => s.trim())).entries()) {
    const which = `EDGE_SIGNING_KEYS_REVOKED item ${i + 1}`;
    const at = chain.findIndex((k) => k.key_id === id);
    if (at === 0) return { problem: `${which} is the current EDGE_SIGNING_KEY's id: put a new EDGE_SIGNING_KEY first` };
    if (at < 0) return { problem: `${which} (${id}) is not the key id of an EDGE_SIGNING_KEYS_PREVIOUS item (ids as GET /v1/keys lists them)` };
    revoked.add(id);
  }
  const head = chain[0]!;
  const published = chain.map(({ key_id, public_key }, i): PublishedEdgeKey => {
    if (revoked.has(key_id)) return { key_id, public_key, revocation: revokeEdgeKey({ key_id, public_key }, head, head.secret_key) };
    // A leaked key's endorsement proves nothing: the next key that did not leak endorses instead.
    const endorser = chain.slice(i + 1).find((k) => !revoked.has(k.key_id));
    return { key_id, public_key, ...(endorser ? { endorsement: endorseEdgeKey({ key_id, public_key }, endorser, endorser.secret_key) } : {}) };
  });
  const older = chain.slice(1);
  return { current: head, previous: older.filter((k) => !revoked.has(k.key_id)), revoked: older.filter((k) => revoked.has(k.key_id)), published };
}

type KeyBindings = Pick<Env, "EDGE_SIGNING_KEY" | "EDGE_SIGNING_KEYS_PREVIOUS" | "EDGE_SIGNING_KEYS_REVOKED">;
let cachedSet: { config: string; keys: EdgeKeys | { problem: string } } | undefined;

/** parseEdgeKeys of the bindings, once per isolate per configuration. */
export function edgeKeys(env: KeyBindings): EdgeKeys | { problem: string } {
  const config = `${env.EDGE_SIGNING_KEY}\n${env.EDGE_SIGNING_KEYS_PREVIOUS ?? ""}\n${env.EDGE_SIGNING_KEYS_REVOKED ?? ""}`;
  if (cachedSet?.config !== config) cachedSet = { config, keys: parseEdgeKeys(env.EDGE_SIGNING_KEY, env.EDGE_SIGNING_KEYS_PREVIOUS, env.EDGE_SIGNING_KEYS_REVOKED) };
  return cachedSet.keys;
}

/** The keys, or 500 `edge_misconfigured` naming what is wrong. */
export function requireEdgeKeys(env: KeyBindings): EdgeKeys {
  const keys = edgeKeys(env);
  if ("problem" in keys) throw new EdgeError("edge_misconfigured", `the edge's signing keys are misconfigured: ${keys.problem}`);
  return keys;
}

/** Every request first: a Worker has no startup to refuse, so a bad key configuration answers
 *  every request (health checks included) with its one clear error instead of half an edge. */
export function keyConfig(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    requireEdgeKeys(c.env);
    await next();
  };
}
