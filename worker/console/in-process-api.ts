// The console reads and writes through the edge's own API routes, in-process (`app.request`),
// so tenancy, validation and errors are exactly the API's. Requests carry the session's vendor
// grant (auth/in-process-grant.ts) instead of a bearer key, and the outer request's injected
// clock, if any, so a test's `now` holds across both.
import type { Context, Hono } from "hono";
import type { AppEnv } from "../env.ts";
import { grantInProcess } from "../auth/in-process-grant.ts";
import { CLOCK_HEADER } from "../middleware/clock.ts";
import type { ConsoleSession } from "./session.ts";
import { EdgeError, errorStatus, type ErrorCode } from "../errors.ts";

export interface ApiAnswer<T = any> {
  status: number;
  ok: boolean;
  body: T;
  /** The API's error code when not ok (`not_found`, `invalid_request`, …). */
  error?: string;
  message?: string;
  headers: Headers;
}

export interface ConsoleApi {
  get<T = any>(path: string, accept?: string): Promise<ApiAnswer<T>>;
  send<T = any>(method: "POST" | "PUT" | "DELETE", path: string, body?: unknown): Promise<ApiAnswer<T>>;
}

/** `app` is passed in (not imported) because app.ts mounts the console: no import cycle. */
export function consoleApi(app: Hono<AppEnv>, c: Context<AppEnv>, session: ConsoleSession): ConsoleApi {
  const call = async (method: string, path: string, body: unknown, accept: string) => {
    const headers = new Headers({ accept });
    const clock = c.req.header(CLOCK_HEADER);
    if (clock !== undefined) headers.set(CLOCK_HEADER, clock);
    if (body !== undefined) headers.set("content-type", "application/json");
    const request = new Request(new URL(path, c.req.url), { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    grantInProcess(request, { vendorId: session.vendorId, apiKeyId: session.apiKeyId, readOnly: session.readOnly });
    const response = await app.request(request, undefined, c.env, executionContext(c));
    const text = await response.text();
    let parsed: any = text;
    if ((response.headers.get("content-type") ?? "").includes("json")) {
      try { parsed = JSON.parse(text); } catch { /* keep the text */ }
    }
    const answer: ApiAnswer = { status: response.status, ok: response.ok, body: parsed, headers: response.headers };
    if (!response.ok && parsed && typeof parsed === "object") {
      answer.error = String(parsed.error ?? "");
      answer.message = String(parsed.message ?? "");
    }
    return answer;
  };
  return {
    get: (path, accept = "application/json") => call("GET", path, undefined, accept),
    send: (method, path, body) => call(method, path, body ?? {}, "application/json"),
  };
}

/**
 * The API's refusal as the EdgeError to throw for the console's onError (routes.ts): its code kept
 * when the edge knows it (`storage_too_new` must reach the page as itself), else `internal`.
 */
export function refusal(answer: ApiAnswer, fallback: string): EdgeError {
  const code = answer.error && Object.hasOwn(errorStatus, answer.error) ? answer.error as ErrorCode : "internal";
  return new EdgeError(code, answer.message || fallback);
}

function executionContext(c: Context<AppEnv>): Context<AppEnv>["executionCtx"] | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined; // app.request in unit tests has none
  }
}

/**
 * Up to `limit` items of a paged list from `after` on (an API cursor), following cursors in pages of
 * at most 100; `next`: the cursor after the last item taken, or null at the end of the list.
 */
export async function someItems<T>(api: ConsoleApi, path: string, limit: number, after?: string): Promise<{ items: T[]; next: string | null }> {
  const items: T[] = [];
  let cursor: string | null = after ?? null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const answer: ApiAnswer<{ items: T[]; next_cursor: string | null }> = await api.get(`${path}${sep}limit=${Math.min(100, limit - items.length)}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    if (!answer.ok) throw refusal(answer, "the list could not be read");
    items.push(...answer.body.items);
    cursor = answer.body.next_cursor;
  } while (cursor && items.length < limit);
  return { items, next: cursor };
}
