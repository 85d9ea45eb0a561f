// Burn-down forecast for grants: at the rate of the last N days, when will each grant run out,
// and how much of it will expire unused? Grants are burnt one after another in the API's burn
// order (priority ↑, then expiry ↑ with no expiry last); a grant starts burning when the one
// before it runs out or expires, or at its own effective_at if later. Exact: units are bigints
// (6 decimals, the API's display precision) and the rate stays a fraction (units per window).
import { divCeil, formatScaled, parseScaled } from "../../shared/decimal/decimal.ts";

const SCALE = 6;

export interface ForecastGrant {
  id: string; remaining: string; effective_at: string; expires_at: string | null; priority: number;
}

export interface GrantForecast {
  id: string;
  /** Units left when the grant expires at this rate ("0" if it runs out first); null without an expiry. */
  unused_at_expiry: string | null;
  /** When it runs out at this rate (ms), or null if it expires first or nothing is being used. */
  exhausted_at: number | null;
}

export interface Rate { units: string; window_ms: number }

export function forecastGrants(grants: ForecastGrant[], rate: Rate, now: number): GrantForecast[] {
  const used = parseScaled(rate.units, SCALE);
  const window = BigInt(rate.window_ms);
  const order = [...grants].sort((a, b) => a.priority - b.priority || expiry(a) - expiry(b));
  let t = BigInt(now);
  const out = new Map<string, GrantForecast>();
  for (const g of order) {
    const remaining = parseScaled(g.remaining, SCALE);
    const expires = g.expires_at === null ? null : BigInt(Date.parse(g.expires_at));
    const start = maxBig(t, BigInt(Date.parse(g.effective_at)));
    if (remaining <= 0n) {
      out.set(g.id, { id: g.id, unused_at_expiry: g.expires_at === null ? null : "0", exhausted_at: null });
      continue;
    }
    // Units burnt in [start, end) at the rate, and the instant `remaining` is reached.
    const runsOutAt = used > 0n ? start + divCeil(remaining * window, used) : null;
    if (expires !== null && (runsOutAt === null || runsOutAt > expires)) {
      const span = expires > start ? expires - start : 0n;
      const burnt = (used * span) / window;
      out.set(g.id, { id: g.id, unused_at_expiry: formatScaled(remaining - burnt, SCALE), exhausted_at: null });
      t = maxBig(t, expires);
    } else {
      out.set(g.id, { id: g.id, unused_at_expiry: expires === null ? null : "0", exhausted_at: runsOutAt === null ? null : Number(runsOutAt) });
      if (runsOutAt !== null) t = runsOutAt;
    }
  }
  return grants.map((g) => out.get(g.id)!);
}

/** Units per day at this rate, for display. */
export function unitsPerDay(rate: Rate): string {
  if (rate.window_ms <= 0) return "0";
  const n = parseScaled(rate.units, SCALE) * 86_400_000n;
  return formatScaled((n + BigInt(rate.window_ms) / 2n) / BigInt(rate.window_ms), SCALE);
}

function expiry(g: ForecastGrant): number {
  return g.expires_at === null ? Number.MAX_SAFE_INTEGER : Date.parse(g.expires_at);
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
