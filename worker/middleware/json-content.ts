// Routes whose JSON body is optional (api-keys, status-links, collector trust): a body sent
// without `Content-Type: application/json` would otherwise be skipped by the validator and the
// request run on defaults — a silently ignored body. An empty body stays "no body"; any other
// body must be JSON (415 `unsupported_media_type`, nothing changed).
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";

export const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i;

export function optionalJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!JSON_TYPE.test(c.req.header("content-type") ?? "") && (await c.req.arrayBuffer()).byteLength > 0) {
      throw new EdgeError("unsupported_media_type", "send the body as Content-Type: application/json (or send no body)");
    }
    await next();
  };
}
