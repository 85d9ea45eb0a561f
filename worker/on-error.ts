// The one place errors become HTTP answers: EdgeError (also one a Durable Object threw, see
// `crossedError`) → its status and `{error, message, …}`; anything else is logged and answered
// as a 500 `internal` without details.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "./env.ts";
import { EdgeError, edgeErrorOf, errorBody } from "./errors.ts";

export function onError(error: Error, c: Context<AppEnv>): Response {
  const edge = edgeErrorOf(error);
  if (edge) return c.json(errorBody(edge), edge.status);
  if (error instanceof HTTPException && error.status === 413) return c.json(errorBody(new EdgeError("too_large", "request body too large")), 413);
  // Raised by Hono's validators (openapi/router.ts): unparseable JSON, or a body that is not JSON.
  if (error instanceof HTTPException && error.status === 400) return c.json(errorBody(new EdgeError("malformed", "request body is not valid JSON")), 400);
  if (error instanceof HTTPException && error.status === 415) return c.json(errorBody(new EdgeError("unsupported_media_type", "send the body as Content-Type: application/json")), 415);
  console.error("unhandled error", error);
  return c.json(errorBody(new EdgeError("internal", "internal error")), 500);
}

export function notFound(c: Context<AppEnv>): Response {
  return c.json(errorBody(new EdgeError("not_found", `no route ${c.req.method} ${c.req.path}`)), 404);
}
