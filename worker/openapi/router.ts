// Every route module is an `apiRouter()`: routes are declared with `createRoute` (method, path,
// request schemas, responses, security), so one declaration both validates the request through
// Hono's zod validator and lists the operation in /openapi.json. Validation failures become the
// edge's stable errors here, in one place.
import { OpenAPIHono, type Hook } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { EdgeError } from "../errors.ts";

export function apiRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** Query → 422 naming `query.<field>`; JSON body → 422 naming the field; a path id of the wrong
 * shape → 404, exactly like an id that does not exist (a URL names a resource or nothing). */
export const validationHook: Hook<unknown, AppEnv, string, unknown> = (result, c) => {
  if (result.success) return;
  if (result.target === "param") throw new EdgeError("not_found", `no resource at ${c.req.path}`);
  const issue = result.error.issues[0];
  const prefix = result.target === "json" ? "" : `${result.target}.`;
  const field = prefix + (issue?.path.map(String).join(".") ?? "");
  throw new EdgeError("invalid_request", `${field || "body"}: ${issue?.message ?? "invalid"}`, { field: field || "body" });
};
