// The edge's receipt-signing keys, derived once per isolate: EDGE_SIGNING_KEY signs everything
// (receipts, webhooks, sealed answers); EDGE_SIGNING_KEYS_PREVIOUS, the seeds it replaced (newest
// first, comma-separated), are only published — each endorsing the key that replaced it
// (shared/protocol/edge-keys.ts) — so sites and tooling that trust an old key can learn the new one.
import { endorseEdgeKey, keyIdOf, publicKeyOf, type PublishedEdgeKey } from "../../shared/protocol/index.ts";
import type { MiddlewareHandler } from "hono";
import type { AppEnv, Env } from "../env.ts";
import { EdgeError } from "../errors.ts";

export interface EdgeKey { key_id: string; public_key: string; secret_key: string }
export interface EdgeKeys {
  current: EdgeKey;
  /** The previous keys, newest first. */
  previous: EdgeKey[];
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
export function parseEdgeKeys(current: string, previous = ""): EdgeKeys | { problem: string } {
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
  const published = chain.map(({ key_id, public_key }, i): PublishedEdgeKey => {
    const endorser = chain[i + 1];
    return { key_id, public_key, ...(endorser ? { endorsement: endorseEdgeKey({ key_id, public_key }, endorser, endorser.secret_key) } : {}) };
  });
  return { current: chain[0]!, previous: chain.slice(1), published };
}

let cachedSet: { config: string; keys: EdgeKeys | { problem: string } } | undefined;

/** parseEdgeKeys of the bindings, once per isolate per configuration. */
export function edgeKeys(env: Pick<Env, "EDGE_SIGNING_KEY" | "EDGE_SIGNING_KEYS_PREVIOUS">): EdgeKeys | { problem: string } {
  const config = `${env.EDGE_SIGNING_KEY}\n${env.EDGE_SIGNING_KEYS_PREVIOUS ?? ""}`;
  if (cachedSet?.config !== config) cachedSet = { config, keys: parseEdgeKeys(env.EDGE_SIGNING_KEY, env.EDGE_SIGNING_KEYS_PREVIOUS) };
  return cachedSet.keys;
}

/** The keys, or 500 `edge_misconfigured` naming what is wrong. */
export function requireEdgeKeys(env: Pick<Env, "EDGE_SIGNING_KEY" | "EDGE_SIGNING_KEYS_PREVIOUS">): EdgeKeys {
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
