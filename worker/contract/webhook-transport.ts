// How the DO reaches a webhook: `fetch`, except that outside production a URL on the reserved
// `.test` TLD (RFC 2606: never resolves) is dispatched to this same Worker's app in-process, so
// tests deliver real signed requests to a route of the edge (routes/dev-webhook-sink.ts)
// without a network.
import { app } from "../app.ts";
import { allowsDevelopmentAids, type Env } from "../env.ts";

export function sendWebhook(env: Env, url: string, init: RequestInit): Promise<Response> {
  if (allowsDevelopmentAids(env) && new URL(url).hostname.endsWith(".test")) {
    return Promise.resolve(app.fetch(new Request(url, init), env));
  }
  return fetch(url, init);
}
