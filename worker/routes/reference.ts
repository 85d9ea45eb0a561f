// GET /openapi.json (the OpenAPI 3.1 document, generated from the route declarations) and
// GET /docs (the same document rendered as a self-contained HTML page). Public.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { openApiDocument } from "../openapi/document.ts";
import { apiRouter } from "../openapi/router.ts";
import { PAGE_HEADERS } from "../pages/layout.ts";
import { renderReference } from "../pages/reference-page.ts";

/** `app` is the whole edge: the document describes every route mounted on it. */
export function reference(app: OpenAPIHono<AppEnv>) {
  return apiRouter()
    .openapi(createRoute({
      method: "get", path: "/openapi.json", tags: ["public"], summary: "This API as an OpenAPI 3.1 document",
      responses: { 200: { description: "the document", content: { "application/json": { schema: z.record(z.string(), z.unknown()) } } } },
    }), (c) => c.json(openApiDocument(app, new URL(c.req.url).origin) as unknown as Record<string, unknown>, 200))
    .openapi(createRoute({
      method: "get", path: "/docs", tags: ["public"], summary: "This API's reference, as an HTML page",
      responses: { 200: { description: "the page", content: { "text/html": { schema: z.string() } } } },
    }), (c) => c.body(renderReference(openApiDocument(app, new URL(c.req.url).origin)), 200, { ...PAGE_HEADERS, "Cache-Control": "public, max-age=300" }));
}
