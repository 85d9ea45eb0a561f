// GET /health: liveness, no auth.
import { createRoute, z } from "@hono/zod-openapi";
import { apiRouter } from "../openapi/router.ts";
import { jsonResponse } from "../openapi/schemas.ts";

export const health = apiRouter({ lenientQuery: true }).openapi(createRoute({
  method: "get", path: "/", tags: ["public"], summary: "Liveness",
  responses: { 200: jsonResponse("the edge is up", z.object({ ok: z.literal(true) }), { ok: true }) },
}), (c) => c.json({ ok: true as const }, 200));
