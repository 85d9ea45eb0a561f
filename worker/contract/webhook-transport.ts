// How the DO reaches a webhook: `fetch`, except that outside production a URL on the reserved
// `.test` TLD (RFC 2606: never resolves) is dispatched to this same Worker's app in-process, so
// tests deliver real signed requests to a route of the edge (routes/dev-webhook-sink.ts)
// without a network. In production every delivery first checks that the URL still names a
// public address (webhook-target.ts) and follows no redirect (a 3xx is a failed delivery, retried
// later), so a public URL cannot bounce the edge onto a private one.
import { app } from "../app.ts";
import { allowsDevelopmentAids, isProduction, type Env } from "../env.ts";
import { dohResolve, webhookTargetRefusal, type Resolve } from "./webhook-target.ts";

export async function sendWebhook(env: Env, url: string, init: RequestInit, resolve: Resolve = dohResolve): Promise<Response> {
  if (allowsDevelopmentAids(env) && new URL(url).hostname.endsWith(".test")) {
    return app.fetch(new Request(url, init), env);
  }
  if (isProduction(env)) {
    const refusal = await webhookTargetRefusal(url, resolve);
    if (refusal !== null) throw new Error(`webhook URL refused: ${refusal}`);
    return fetch(url, { ...init, redirect: "manual" });
  }
  return fetch(url, init);
}
