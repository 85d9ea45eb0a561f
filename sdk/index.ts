// Tally's TypeScript SDK: a typed client for the edge API and webhook verification.
//
//   const tally = createClient({ baseUrl: "https://tally.example.com", apiKey: process.env.TALLY_API_KEY });
//   const balance = unwrap(await tally.GET("/v1/contracts/{id}/balance", { params: { path: { id } } }));
//   const event = verifyWebhook(rawBody, request.headers.get("Tally-Signature"), edgeKeys);
export { createClient, type ClientOptions, type TallyClient } from "./client.ts";
export { TallyApiError, unwrap, type ErrorBody, type ErrorCode } from "./errors.ts";
export { verifyWebhook, WebhookVerificationError, type EdgeKey, type VerifyOptions, type WebhookEvent, type WebhookFailure } from "./webhooks.ts";
export type { components, paths, webhooks } from "./openapi.ts";

import type { components } from "./openapi.ts";
/** A named schema of the edge API, e.g. `Schema<"Balance">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];
