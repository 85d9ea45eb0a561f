// HTTP to the edge (DESIGN.md §4, §7). Anything that says "the edge is not there right now" —
// connection refused, DNS, a timeout, a proxy that cannot connect, a 5xx or 429 — becomes
// EdgeUnreachable (retried with backoff); every other answer is returned with its parsed JSON body
// for the caller to judge.
//
// Proxies as curl reads them (DESIGN.md §9): HTTPS_PROXY / HTTP_PROXY / NO_PROXY (and their
// lower-case forms), through undici's EnvHttpProxyAgent — Node's own fetch ignores them. No
// implicit bypass: only NO_PROXY exempts a host, localhost included. An https:// edge is reached
// through a CONNECT tunnel; an http:// one with absolute-form requests, as curl does. A corporate
// CA comes from NODE_EXTRA_CA_CERTS, which Node adds to the store every TLS connection uses.
import { EnvHttpProxyAgent, fetch as undiciFetch, type Dispatcher } from "undici";
import { EdgeUnreachable } from "./backoff.ts";

let dispatcher: Dispatcher | undefined;

/** One agent per process: it keeps connections (and tunnels) alive between requests. */
function edgeDispatcher(): Dispatcher {
  dispatcher ??= new EnvHttpProxyAgent({ proxyTunnel: false });
  return dispatcher;
}

/** fetch through the proxy settings above: every request the collector makes goes through here. */
export function edgeFetch(url: string, init: { method: string; headers: Record<string, string>; body?: Uint8Array | string | null; signal?: AbortSignal }): Promise<Response> {
  return undiciFetch(url, { ...init, body: init.body ?? null, dispatcher: edgeDispatcher() }) as unknown as Promise<Response>;
}

export interface EdgeReply {
  status: number;
  body: unknown;
  /** The body exactly as the edge sent it (a bundle's reply is kept byte for byte). */
  text: string;
}

export interface EdgeClientOptions {
  /** Per request, connect to last byte. */
  timeoutMs: number;
}

export class EdgeClient {
  readonly server: string;
  private readonly timeoutMs: number;

  constructor(server: string, options: EdgeClientOptions = { timeoutMs: 30_000 }) {
    this.server = server.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs;
  }

  postBatch(collectorId: string, gzipped: Uint8Array): Promise<EdgeReply> {
    return this.send("POST", `/v1/collectors/${encodeURIComponent(collectorId)}/batches`, gzipped, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
  }

  /** An air-gapped bundle, uploaded for the site from a connected machine (no bearer: it is signed). */
  postBundle(collectorId: string, gzipped: Uint8Array): Promise<EdgeReply> {
    return this.send("POST", `/v1/collectors/${encodeURIComponent(collectorId)}/bundles`, gzipped, {
      "content-type": "application/json",
      "content-encoding": "gzip",
    });
  }

  /**
   * `idempotencyKey` makes a retried enrollment (its answer lost on the way back) get the same
   * answer instead of `enrollment_token_used`; init derives it from the site's secret key.
   */
  enroll(body: { enrollment_token: string; public_key: string; site: string }, idempotencyKey?: string): Promise<EdgeReply> {
    return this.send("POST", "/v1/enroll", JSON.stringify(body), { "content-type": "application/json", ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}) });
  }

  keys(): Promise<EdgeReply> {
    return this.send("GET", "/v1/keys", undefined, {});
  }

  private async send(method: string, path: string, body: Uint8Array | string | undefined, headers: Record<string, string>): Promise<EdgeReply> {
    let response: Response;
    let text: string;
    try {
      response = await edgeFetch(this.server + path, { method, headers, body: body ?? null, signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      const why = err.name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message);
      throw new EdgeUnreachable(`${method} ${this.server}${path}: ${why}`);
    }
    if (response.status >= 500 || response.status === 429) {
      throw new EdgeUnreachable(`${method} ${this.server}${path}: HTTP ${response.status}`);
    }
    let parsed: unknown = text;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's HTML page): keep the text; callers treat it as an unexpected answer.
    }
    return { status: response.status, body: parsed, text };
  }
}
