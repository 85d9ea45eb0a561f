// The edge's bindings and per-request variables, and the Cloudflare.Env typing that
// `cloudflare:test` uses for `env`.
import type { ContractDO } from "./contract/contract-do.ts";
import type { contracts } from "./db/schema.ts";

export interface Env {
  DB: D1Database;
  CONTRACT: DurableObjectNamespace<ContractDO>;
  ADMIN_TOKEN: string;
  /** Hex Ed25519 seed that signs receipts. */
  EDGE_SIGNING_KEY: string;
  /** Previous EDGE_SIGNING_KEY seeds, newest first, comma-separated: published and endorsing their successors, never signing (auth/edge-key.ts). */
  EDGE_SIGNING_KEYS_PREVIOUS?: string;
  /** Key ids (edk_…) of EDGE_SIGNING_KEYS_PREVIOUS items that leaked, comma-separated: published revoked (auth/edge-key.ts). */
  EDGE_SIGNING_KEYS_REVOKED?: string;
  /** "production" | "development" | "test": only the last two accept an injected clock; any other value is production (isProduction). */
  TALLY_ENV: string;
  /** Development and test only: ms added to the real clock for every request (middleware/clock.ts). */
  TALLY_CLOCK_OFFSET_MS?: string;
  /** Development and test only: ms the ContractDO waits after a write before draining (contract-alarm.ts). */
  TALLY_DRAIN_DELAY_MS?: string;
}

/** Hono's environment: bindings plus what middleware sets for the handlers. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The request's instant in ms (real, or injected outside production). */
    now: number;
    /** Set by `vendorAuth`. */
    vendorId: string;
    /** Set by `vendorAuth`: the API key the request came with. */
    apiKeyId: string;
    /** Set by `ownedContract`: the vendor's contract named in the path. */
    contract: typeof contracts.$inferSelect;
  };
}

declare global {
  namespace Cloudflare {
    interface Env {
      DB: D1Database;
      CONTRACT: DurableObjectNamespace<ContractDO>;
      ADMIN_TOKEN: string;
      EDGE_SIGNING_KEY: string;
      EDGE_SIGNING_KEYS_PREVIOUS?: string;
      EDGE_SIGNING_KEYS_REVOKED?: string;
      TALLY_ENV: string;
      TALLY_CLOCK_OFFSET_MS?: string;
      TALLY_DRAIN_DELAY_MS?: string;
    }
  }
}

/**
 * Whether this deployment allows test and development aids: the injected clock (`X-Tally-Now`,
 * middleware/clock.ts), the benchmark baseline, the webhook sink. An allow-list, so a missing or
 * misspelt TALLY_ENV behaves like production.
 */
export function allowsInjectedClock(env: Pick<Env, "TALLY_ENV">): boolean {
  return env.TALLY_ENV === "development" || env.TALLY_ENV === "test";
}
export const allowsDevelopmentAids = allowsInjectedClock;

/**
 * Whether this deployment is production: the webhook URL checks, the alarm's period freezing and
 * notices, `_live_` secrets. The complement of the allow-list above, so a missing or misspelt
 * TALLY_ENV ("prod", "Production") is production everywhere, never half of it.
 */
export function isProduction(env: Pick<Env, "TALLY_ENV">): boolean {
  return !allowsDevelopmentAids(env);
}
