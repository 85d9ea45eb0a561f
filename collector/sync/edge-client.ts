// HTTP to the edge (DESIGN.md §4, §7). Anything that says "the edge is not there right now" —
// connection refused, DNS, a timeout, a 5xx or 429 — becomes EdgeUnreachable (retried with
// backoff); every other answer is returned with its parsed JSON body for the caller to judge.
import { EdgeUnreachable } from "./backoff.ts";

export interface EdgeReply { status: number; body: unknown }

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
      response = await fetch(this.server + path, { method, headers, body, signal: AbortSignal.timeout(this.timeoutMs) });
      text = await response.text();
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      const why = err.name === "TimeoutError" ? `no answer within ${this.timeoutMs} ms` : (err.cause?.code ?? err.message);
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
    return { status: response.status, body: parsed };
  }
}
