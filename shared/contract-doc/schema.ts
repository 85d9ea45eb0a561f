// The contract doc's schema (DESIGN §8): root names, the plain-JSON shapes of each root, and the
// checks that keep every root plain JSON so both sides can read it back without surprises.
import { ContractDocError } from "./errors.ts";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Edge-owned: the contract's terms (plan, scope, rates, unit name, …), one map key per top-level field. */
export const TERMS_ROOT = "terms";
/** Edge-owned: the last balance the edge computed, one map key per top-level field. */
export const BALANCE_ROOT = "balance";
export const EDGE_ROOTS: readonly string[] = [TERMS_ROOT, BALANCE_ROOT];
const SITE_ROOT_PREFIX = "site:";
const COLLECTOR_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Site-owned root of one collector: `site:<collector_id>`. */
export function siteRootName(collectorId: string): string {
  if (!COLLECTOR_ID.test(collectorId)) {
    throw new ContractDocError("invalid_doc_content", `not a collector id: ${JSON.stringify(collectorId)}`);
  }
  return SITE_ROOT_PREFIX + collectorId;
}

/** The collector id of a `site:` root name, or null for any other root. */
export function collectorIdOfRoot(root: string): string | null {
  if (!root.startsWith(SITE_ROOT_PREFIX)) return null;
  const id = root.slice(SITE_ROOT_PREFIX.length);
  return COLLECTOR_ID.test(id) ? id : null;
}

/**
 * The balance as the edge last wrote it. Fields may be added, never renamed (like DESIGN §7's
 * balance); decimals are strings, never floats.
 */
export interface DocBalance {
  /** RFC 3339 instant the figure was computed at. */
  as_of: string;
  /** Decimal string, never negative; null for a contract that never had a grant. */
  remaining_units: string | null;
  period: { start: string; end: string } | null;
  /** Per collector, the `acked_seq` this figure reflects (its records up to it are counted). */
  collectors: Record<string, { acked_seq: number }>;
  [field: string]: JsonValue;
}

/** What a site says about itself, in its own root. Unknown fields are kept (newer collectors). */
export interface SiteInfo {
  site_name?: string;
  contact?: string;
  notes?: string;
  /** user → cost centre; a nested Y.Map so single entries merge. */
  cost_centres: Record<string, string>;
  [field: string]: JsonValue | undefined;
}

/** A change to a site root: a field set to null is removed; cost centres are merged entry by entry. */
export interface SitePatch {
  site_name?: string | null;
  contact?: string | null;
  notes?: string | null;
  cost_centres?: Record<string, string | null>;
}

/** The whole doc as plain JSON. */
export interface ContractDocJson {
  /** `{}` until the edge writes terms. */
  terms: JsonObject;
  /** null until the edge writes a balance. */
  balance: DocBalance | null;
  /** By collector id; only sites that wrote something. */
  sites: Record<string, SiteInfo>;
}

export const SITE_STRING_FIELDS = ["site_name", "contact", "notes"] as const;
export const COST_CENTRES = "cost_centres";

/** True for values that survive a JSON round trip unchanged (finite numbers, plain objects). */
export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (depth > 32) return false;
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value) && !Object.is(value, -0);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  }
  return false;
}

const DECIMAL = /^(0|[1-9][0-9]*)(\.[0-9]+)?$/;

/** Why `balance` is not a valid DocBalance, or null. */
export function balanceProblem(balance: unknown): string | null {
  if (!isJsonValue(balance) || balance === null || typeof balance !== "object" || Array.isArray(balance)) {
    return "balance must be a plain JSON object";
  }
  if (typeof balance.as_of !== "string") return "balance.as_of must be an RFC 3339 string";
  const remaining = balance.remaining_units;
  if (remaining !== null && !(typeof remaining === "string" && DECIMAL.test(remaining))) {
    return "balance.remaining_units must be a non-negative decimal string or null";
  }
  const period = balance.period;
  if (period !== null && !(typeof period === "object" && !Array.isArray(period) &&
      typeof period?.start === "string" && typeof period.end === "string")) {
    return "balance.period must be {start, end} or null";
  }
  const collectors = balance.collectors;
  if (collectors === null || typeof collectors !== "object" || Array.isArray(collectors)) {
    return "balance.collectors must be an object keyed by collector id";
  }
  for (const [id, entry] of Object.entries(collectors)) {
    const acked = entry !== null && typeof entry === "object" && !Array.isArray(entry) ? entry.acked_seq : undefined;
    if (!COLLECTOR_ID.test(id) || typeof acked !== "number" || !Number.isSafeInteger(acked) || acked < 0) {
      return `balance.collectors.${id} must be {acked_seq: non-negative integer}`;
    }
  }
  return null;
}
