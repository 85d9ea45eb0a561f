// The OpenAPI 3.1 document of the edge, generated from the route declarations (the same zod
// schemas that validate requests). `describeApi` registers what is not a route: the security
// schemes. Importable from Node (no Cloudflare runtime imports), so the document can be checked
// by a validator without a running Worker.
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../env.ts";
import { describeWebhooks } from "./webhooks.ts";

type OpenApiDocument = ReturnType<OpenAPIHono["getOpenAPI31Document"]>;

export function describeApi(app: OpenAPIHono<AppEnv>): void {
  const register = (name: string, description: string) =>
    app.openAPIRegistry.registerComponent("securitySchemes", name, { type: "http", scheme: "bearer", description });
  register("vendorKey", "A vendor API key (`tk_…`), from POST /v1/vendors or POST /v1/api-keys. Read-only keys may only GET.");
  register("operatorToken", "The operator's ADMIN_TOKEN.");
  register("collectorToken", "The collector token (`tc_…`) issued at enrollment, for the collector named in the path.");
  describeWebhooks(app);
}

const cache = new WeakMap<OpenAPIHono<AppEnv>, OpenApiDocument>();

/** The document; `origin` (the request's) fills `servers` so the reference page shows real URLs. */
export function openApiDocument(app: OpenAPIHono<AppEnv>, origin?: string): OpenApiDocument {
  let document = cache.get(app);
  if (!document) {
    document = app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Tally edge API",
        version: "1",
        description: "Usage-based licensing: vendors define contracts and read balances, collectors sync signed usage, customers open status links. Errors are `{error, message, …}` with a stable `error` code.",
      },
      tags: [
        { name: "vendor", description: "Vendor API (Bearer API key)" },
        { name: "collector", description: "Site collectors (DESIGN.md §4)" },
        { name: "customer", description: "Status links, for the vendor's customer" },
        { name: "operator", description: "Operator (ADMIN_TOKEN)" },
        { name: "public", description: "No credentials" },
        { name: "webhooks", description: "Events the edge POSTs to a contract's webhook_url, signed (`Tally-Signature`)" },
      ],
    });
    cache.set(app, document);
  }
  return origin ? { ...document, servers: [{ url: origin }] } : document;
}
