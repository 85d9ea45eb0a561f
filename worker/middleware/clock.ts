// Sets `now` for the request. Tests and local development may inject it with `X-Tally-Now: <ms>`
// (so periods, expiries and staleness can be exercised without waiting), or shift the whole
// edge's clock with the binding `TALLY_CLOCK_OFFSET_MS` (a local edge started by a test running
// at another date: every request — a collector's sync, a browser's page — then sees that date,
// advancing in real time). Production refuses both outright rather than ignoring them, so a
// misconfigured client or deployment notices.
import type { MiddlewareHandler } from "hono";
import { allowsInjectedClock, type AppEnv, type Env } from "../env.ts";
import { EdgeError } from "../errors.ts";

export const CLOCK_HEADER = "X-Tally-Now";

export function clock(): MiddlewareHandler<AppEnv> {
  return async function clock(c, next) {
    const injected = c.req.header(CLOCK_HEADER);
    const offset = c.env.TALLY_CLOCK_OFFSET_MS;
    if ((injected !== undefined || offset) && !allowsInjectedClock(c.env)) {
      throw new EdgeError("clock_injection_refused", `${injected !== undefined ? CLOCK_HEADER : "TALLY_CLOCK_OFFSET_MS"} is only accepted in development and test`);
    }
    if (injected === undefined) {
      c.set("now", Date.now() + offsetMs(c.env));
    } else {
      const ms = /^\d{1,16}$/.test(injected) ? Number(injected) : NaN;
      if (!Number.isSafeInteger(ms)) throw new EdgeError("malformed", `${CLOCK_HEADER} must be integer ms since the epoch`);
      c.set("now", ms);
    }
    await next();
  };
}

/** The configured shift of a development or test edge's clock (0 when unset). */
function offsetMs(env: Pick<Env, "TALLY_CLOCK_OFFSET_MS">): number {
  const text = env.TALLY_CLOCK_OFFSET_MS;
  if (!text) return 0;
  const ms = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(ms)) throw new EdgeError("malformed", "TALLY_CLOCK_OFFSET_MS must be integer ms");
  return ms;
}
