// GET /docs: the API reference, rendered in the browser by Scalar from /openapi.json. Scalar's
// script is one of the edge's own static assets (vendored by scripts/build-console.ts), and
// every Scalar feature that would reach another host is off: its default fonts, its request
// proxy (the "test request" client calls this edge directly), telemetry, the AI agent, MCP and
// the developer tools. The page's CSP allows only this origin besides, so an option a later
// Scalar version adds cannot quietly load anything from elsewhere either.
import type { ApiReferenceConfiguration } from "@scalar/hono-api-reference";

export const SCALAR_SCRIPT = "/console/assets/scalar-api-reference.js";

/** The Scalar configuration of the reference; `nonce` lets the inline start-up script run under the CSP. */
export function referenceConfiguration(nonce: string): Partial<ApiReferenceConfiguration> {
  return {
    url: "/openapi.json",
    cdn: SCALAR_SCRIPT,
    nonce,
    pageTitle: "Tally edge API reference",
    withDefaultFonts: false,
    proxyUrl: "",
    telemetry: false,
    agent: { disabled: true },
    mcp: { disabled: true },
    showDeveloperTools: "never",
    documentDownloadType: "json",
    hideDarkModeToggle: false,
    defaultOpenAllTags: true,
    operationTitleSource: "summary",
  } as Partial<ApiReferenceConfiguration>;
}

/** A fresh nonce per page. */
export function pageNonce(): string {
  return btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
}

/** Only this origin: Scalar's script and /openapi.json, its inline styles, and calls to the API itself. */
export function referenceHeaders(nonce: string): Record<string, string> {
  return {
    "Content-Security-Policy": [
      "default-src 'none'", `script-src 'self' 'nonce-${nonce}'`, "style-src 'self' 'unsafe-inline'",
      "img-src 'self' data: blob:", "font-src 'self' data:", "connect-src 'self'", "worker-src 'self' blob:",
      "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].join("; "),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    // The nonce changes per answer: a cached page would carry a stale one.
    "Cache-Control": "no-store",
  };
}

