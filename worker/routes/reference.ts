// GET /openapi.json (the OpenAPI 3.1 document, generated from the route declarations) and
// GET /docs (the same document rendered by Scalar, from the edge's own assets). Public.
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { Scalar } from "@scalar/hono-api-reference";
import type { AppEnv } from "../env.ts";
import { openApiDocument } from "../openapi/document.ts";
import { apiRouter } from "../openapi/router.ts";
import { pageNonce, referenceConfiguration, referenceHeaders } from "../pages/reference-page.ts";

/** `app` is the whole edge: the document describes every route mounted on it. */
export function reference(app: OpenAPIHono<AppEnv>) {
  return apiRouter()
    .openapi(createRoute({
      method: "get", path: "/openapi.json", tags: ["public"], summary: "This API as an OpenAPI 3.1 document",
      responses: { 200: { description: "the document", content: { "application/json": { schema: z.record(z.string(), z.unknown()), example: { openapi: "3.1.0", info: { title: "Tally edge API", version: "1" }, paths: {} } } } } },
    }), (c) => c.json(openApiDocument(app, new URL(c.req.url).origin) as unknown as Record<string, unknown>, 200))
    .openapi(createRoute({
      method: "get", path: "/docs", tags: ["public"], summary: "This API's reference, as an HTML page (Scalar)",
      responses: { 200: { description: "the page", content: { "text/html": { schema: z.string(), example: "<!doctype html>…" } } } },
    }), async (c) => {
      const nonce = pageNonce();
      // Scalar's middleware always answers (c.html); it never calls next.
      const response = (await Scalar<AppEnv>(referenceConfiguration(nonce))(c, async () => {})) as Response;
      for (const [name, value] of Object.entries(referenceHeaders(nonce))) response.headers.set(name, value);
      return response as never;
    });
}
