// Sets `now` for the request. Tests and local development may inject it with `X-Tally-Now: <ms>`
// (so periods, expiries and staleness can be exercised without waiting); production refuses
// the header outright rather than ignoring it, so a misconfigured client notices.
import type { MiddlewareHandler } from "hono";
import { allowsInjectedClock, type AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";

export const CLOCK_HEADER = "X-Tally-Now";

export function clock(): MiddlewareHandler<AppEnv> {
  return async function clock(c, next) {
    const injected = c.req.header(CLOCK_HEADER);
    if (injected === undefined) {
      c.set("now", Date.now());
    } else if (!allowsInjectedClock(c.env)) {
      throw new EdgeError("clock_injection_refused", `${CLOCK_HEADER} is only accepted in development and test`);
    } else {
      const ms = /^\d{1,16}$/.test(injected) ? Number(injected) : NaN;
      if (!Number.isSafeInteger(ms)) throw new EdgeError("malformed", `${CLOCK_HEADER} must be integer ms since the epoch`);
      c.set("now", ms);
    }
    await next();
  };
}
