// The console's request guards. Every POST must come from a page of this origin (`Origin`
// equal to ours: browsers send it on every form POST) — that alone protects the sign-in form —
// and, once signed in, carry the session's CSRF token (a hidden field in every form), compared
// in constant time. Pages need a live session; without one they go to the sign-in page.
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { secretsEqual } from "../auth/secrets.ts";
import { currentSession, type ConsoleSession } from "./session.ts";
import { renderConsolePage, CONSOLE_HEADERS } from "./pages/shell.ts";

export interface ConsoleEnv extends AppEnv {
  Variables: AppEnv["Variables"] & { session: ConsoleSession };
}

export function sameOrigin(): MiddlewareHandler<ConsoleEnv> {
  return async function sameOrigin(c, next) {
    if (c.req.method !== "POST") return next();
    if (c.req.header("Origin") !== new URL(c.req.url).origin) return refuse(c, "This form was not sent from the console's own pages (Origin check).");
    return next();
  };
}

export function signedIn(): MiddlewareHandler<ConsoleEnv> {
  return async function signedIn(c, next) {
    const session = await currentSession(c as unknown as Context<AppEnv>);
    if (!session) {
      if (c.req.method === "GET") return c.redirect("/console/sign-in", 303);
      return refuse(c, "Your session has ended: sign in again.", 401);
    }
    c.set("session", session);
    if (c.req.method === "POST") {
      const form = await c.req.parseBody();
      const token = typeof form.csrf === "string" ? form.csrf : "";
      if (!secretsEqual(token, session.csrfToken)) return refuse(c, "This form has expired or was not sent from the console (CSRF check). Reload the page and try again.");
    }
    return next();
  };
}

function refuse(c: Context<ConsoleEnv>, message: string, status: 401 | 403 = 403): Response {
  const body = renderConsolePage({ title: "Refused" }, `<h1>Refused</h1><p class="error" role="alert">${message}</p><p><a href="/console">Back to the console</a></p>`);
  return c.body(body, status, CONSOLE_HEADERS);
}
