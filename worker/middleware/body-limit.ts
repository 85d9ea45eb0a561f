// Caps JSON request bodies (hono's bodyLimit, answering with our `too_large` error). Batches have
// their own cap on *decoded* bytes (routes/batches.ts).
import type { MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";

export const API_BODY_LIMIT = 64 * 1024;

export function bodyLimit(maxBytes = API_BODY_LIMIT): MiddlewareHandler<AppEnv> {
  return honoBodyLimit({
    maxSize: maxBytes,
    onError: () => { throw new EdgeError("too_large", `request body over ${maxBytes} bytes`); },
  });
}
