// Every route module is an `apiRouter()`: routes are declared with `createRoute` (method, path,
// request schemas, responses, security), so one declaration both validates the request through
// Hono's zod validator and lists the operation in /openapi.json. Validation failures become the
// edge's stable errors here, in one place.
import { OpenAPIHono, z, type Hook, type RouteConfig } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";
import { bodyLimit } from "../middleware/body-limit.ts";
import { noBody } from "../middleware/no-body.ts";
import { errorResponses } from "./schemas.ts";

/**
 * A query parameter a route does not declare is refused (422 invalid_request naming it), as a body
 * refuses an unknown field: a misspelt `group_by` or `limit` must not silently answer something
 * else. Likewise a write that declares no body refuses one (middleware/no-body.ts). `lenientQuery`:
 * the customer's status page — a link people pass around, to which mail and chat tools append their
 * own parameters (`utm_…`) — and /health, which probes call as they like (`?probe=1`, cache busters).
 */
export function apiRouter(options: { lenientQuery?: boolean } = {}): OpenAPIHono<AppEnv> {
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  if (options.lenientQuery) return router;
  const register = router.openapi;
  router.openapi = ((route: RouteConfig, ...rest: unknown[]) => (register as (...a: unknown[]) => unknown)(strictInput(route), ...rest)) as typeof router.openapi;
  return router;
}

function strictInput(route: RouteConfig): RouteConfig {
  const query = route.request?.query;
  const takesNoBody = route.method !== "get" && route.method !== "head" && route.request?.body === undefined;
  const middleware = route.middleware === undefined ? [] : Array.isArray(route.middleware) ? route.middleware : [route.middleware];
  return {
    ...route,
    request: { ...route.request, query: query instanceof z.ZodObject ? query.strict() : query ?? z.strictObject({}) },
    // …and says so in the document: a body sent to it is refused as one breaking a schema would be.
    ...(takesNoBody ? { middleware: [...middleware, bodyLimit(), noBody()], responses: { ...errorResponses(400, 413, 415, 422), ...route.responses } } : {}),
  };
}

/** Query → 422 naming `query.<field>`; JSON body → 422 naming the field; a path id of the wrong
 * shape → 404, exactly like an id that does not exist (a URL names a resource or nothing). */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = async (result, c) => {
  if (result.success) {
    if (result.target === "json") refuseUnsafeJson(await c.req.json(), "");
    return;
  }
  if (result.target === "param") throw new EdgeError("not_found", `no resource at ${c.req.path}`);
  const issue = result.error.issues[0];
  const prefix = result.target === "json" ? "" : `${result.target}.`;
  const path = [...(issue?.path ?? []), ...(issue?.code === "unrecognized_keys" ? issue.keys.slice(0, 1) : [])];
  const field = prefix + path.map(String).join(".");
  const message = issue?.code === "unrecognized_keys" ? "not a field" : (issue?.message ?? "invalid");
  throw new EdgeError("invalid_request", `${field || "body"}: ${message}`, { field: field || "body" });
};

/** zod drops a `__proto__` key silently (even from a strict object), so `{"name":"x",
 * "__proto__":{…}}` would pass as `{"name":"x"}`. It is never a field of ours: refuse it like
 * any unknown field rather than accept a body that means something else to other parsers.
 * Strings with a lone UTF-16 surrogate (`"\ud800"`) are refused too: they cannot be stored or
 * re-encoded as UTF-8 faithfully, so a name would silently change on its way to D1. */
function refuseUnsafeJson(value: unknown, path: string, depth = 0): void {
  if (typeof value === "string") {
    if (!value.isWellFormed()) throw new EdgeError("invalid_request", `${path || "body"}: not well-formed Unicode (lone surrogate)`, { field: path || "body" });
    return;
  }
  if (typeof value !== "object" || value === null || depth > 64) return;
  for (const key of Object.keys(value)) {
    const field = path ? `${path}.${key}` : key;
    if (key === "__proto__") throw new EdgeError("invalid_request", `${field}: not a field`, { field });
    if (!key.isWellFormed()) throw new EdgeError("invalid_request", `${path || "body"}: a key is not well-formed Unicode`, { field: path || "body" });
    refuseUnsafeJson((value as Record<string, unknown>)[key], field, depth + 1);
  }
}
