// Routes that take no body (POST …/enrollments, POST /v1/collectors/:id/revoke, the operator's
// reconcile, the DELETEs): a body sent to one is refused, never dropped — `{"expires_in_days": 30}`
// on an enrollment or `{"at_seq": 5}` on a revocation would otherwise answer as if the client's
// option had been applied. No body, or the empty object generic clients send with a POST, is no
// body. Added to every such route by `apiRouter` (openapi/router.ts), after the route's own
// middleware (credentials, ownership, size cap).
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { JSON_TYPE } from "./json-content.ts";

export function noBody(): MiddlewareHandler<AppEnv> {
  return async function noBody(c, next) {
    const text = await c.req.text();
    if (text.length > 0) {
      if (!JSON_TYPE.test(c.req.header("content-type") ?? "")) {
        throw new EdgeError("unsupported_media_type", "this route takes no body (send none, or {})");
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new EdgeError("malformed", "request body is not valid JSON");
      }
      const field = typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value)[0] : "body";
      if (field !== undefined) {
        throw new EdgeError("invalid_request", `${field}: not a field (this route takes no body)`, { field });
      }
    }
    await next();
  };
}
