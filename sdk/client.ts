// `createClient({ baseUrl, apiKey })`: an openapi-fetch client typed by the edge's OpenAPI
// document (sdk/openapi.ts), with the bearer set, an `Idempotency-Key` on every POST that
// creates something (unless the caller gave one), and retries of transient failures — a
// network error or a 502/503/504 — only for requests that are safe to send again: GETs, and
// POSTs carrying an Idempotency-Key (the retry reuses the key, so the edge answers the first
// answer again instead of creating twice).
import createFetchClient, { type Client } from "openapi-fetch";
import { idempotentPosts, type paths } from "./openapi.ts";

/** Typed for JSON answers; the statement's CSV: `GET(…, { headers: { Accept: "text/csv" }, parseAs: "text" })`. */
export type TallyClient = Client<paths, "application/json">;

export interface ClientOptions {
  /** The edge, e.g. `https://tally.example.com` or `http://127.0.0.1:8787`. */
  baseUrl: string;
  /** The bearer: a vendor API key (`tk_…`), or the operator's ADMIN_TOKEN for POST /v1/vendors. */
  apiKey?: string;
  /** Retries of a transient failure, for requests safe to repeat. Default 2. */
  retries?: number;
  /** Makes an Idempotency-Key. Default `crypto.randomUUID()`. */
  idempotencyKey?: () => string;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: (request: Request) => Promise<Response>;
}

const IDEMPOTENCY_HEADER = "Idempotency-Key";
const TRANSIENT_STATUSES = new Set([502, 503, 504]);

export function createClient(options: ClientOptions): TallyClient {
  const client = createFetchClient<paths, "application/json">({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: options.apiKey ? { Authorization: `Bearer ${options.apiKey}` } : {},
    fetch: retrying(options.fetch ?? ((request) => globalThis.fetch(request)), options.retries ?? 2),
  });
  const newKey = options.idempotencyKey ?? (() => crypto.randomUUID());
  client.use({
    onRequest({ request, schemaPath }) {
      if (request.method === "POST" && idempotentPosts.has(schemaPath as keyof paths) && !request.headers.has(IDEMPOTENCY_HEADER)) {
        request.headers.set(IDEMPOTENCY_HEADER, newKey());
      }
      return request;
    },
  });
  return client;
}

function retrying(send: (request: Request) => Promise<Response>, retries: number): (request: Request) => Promise<Response> {
  return async function retryingFetch(request) {
    const repeatable = request.method === "GET" || request.method === "HEAD" || request.headers.has(IDEMPOTENCY_HEADER);
    for (let attempt = 0; ; attempt++) {
      const last = !repeatable || attempt >= retries;
      try {
        const response = await send(last ? request : request.clone());
        if (last || !TRANSIENT_STATUSES.has(response.status)) return response;
        await response.body?.cancel();
      } catch (error) {
        // fetch rejects with a TypeError when the network fails; anything else is not ours to retry.
        if (last || !(error instanceof TypeError)) throw error;
      }
      await new Promise((ok) => setTimeout(ok, 200 * 2 ** attempt * (0.5 + Math.random())));
    }
  };
}
