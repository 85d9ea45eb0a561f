// Schemas shared by route declarations: the error shape, typed ids in paths, list pages, and
// the security requirements. Route modules build their own resource schemas beside their code.
import { z } from "@hono/zod-openapi";
import { errorStatus, type ErrorCode } from "../errors.ts";
import type { IdPrefix } from "../ids.ts";
import { DEFAULT_LIMIT, MAX_LIMIT } from "../pagination.ts";

const errorCodes = Object.keys(errorStatus) as [ErrorCode, ...ErrorCode[]];

export const errorSchema = z.looseObject({
  error: z.enum(errorCodes).openapi({ description: "stable code clients match on; new codes may be added", example: "not_found" }),
  message: z.string(),
  field: z.string().optional().openapi({ description: "with `invalid_request`: the offending field, e.g. `plan.rates.MATLAB`" }),
}).openapi("Error");

/** An id with its type prefix (`ctr_…`). Its `pattern` is how tests learn which resource a path names. */
export function idSchema(prefix: IdPrefix) {
  return z.string().regex(new RegExp(`^${prefix}_[0-9a-f]{32}$`), `an id ${prefix}_…`)
    .openapi({ example: `${prefix}_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e0` });
}

/** `{ id }` path parameters for a resource of this prefix. */
export function idParams(prefix: IdPrefix) {
  return z.object({ id: idSchema(prefix).openapi({ param: { name: "id", in: "path" } }) });
}

/** `?limit&cursor` of a list of `prefix` resources. The cursor must be one this list handed out: a
 * cursor of another list (another id type) would silently restart the page or end it. */
export function pageQuerySchema(prefix: IdPrefix) {
  return z.object({
    limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT)
      .openapi({ param: { name: "limit", in: "query" }, description: `1–${MAX_LIMIT}, default ${DEFAULT_LIMIT}` }),
    cursor: z.string().regex(new RegExp(`^${prefix}_[0-9a-f]{1,64}$`), "a cursor from a previous page of this list").optional()
      .openapi({ param: { name: "cursor", in: "query" }, description: "opaque: the previous page's `next_cursor`" }),
  });
}

export function pageSchema<T extends z.ZodType>(item: T) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable().openapi({ description: "null on the last page" }) });
}

export const idempotencyHeaderSchema = z.object({
  "Idempotency-Key": z.string().optional().openapi({
    param: { name: "Idempotency-Key", in: "header" },
    description: "1–255 printable ASCII: the same key with the same body answers the first answer again; another body is 409 `idempotency_conflict`",
  }),
});

export const vendorSecurity = [{ vendorKey: [] }];
export const operatorSecurity = [{ operatorToken: [] }];
export const collectorSecurity = [{ collectorToken: [] }];

const errorExamples: Record<number, z.infer<typeof errorSchema>> = {
  400: { error: "malformed", message: "request body is not valid JSON" },
  401: { error: "unauthorized", message: "missing or unknown API key" },
  403: { error: "read_only_key", message: "this API key is read-only" },
  404: { error: "not_found", message: "no resource at /v1/contracts/ctr_019ac8e3e1a0b1c2d3e4f5a6b7c8d9e0" },
  409: { error: "idempotency_conflict", message: "Idempotency-Key was used with another request" },
  410: { error: "enrollment_token_expired", message: "the enrollment token expired" },
  413: { error: "too_large", message: "request body over 65536 bytes" },
  415: { error: "unsupported_media_type", message: "the body must be application/json" },
  422: { error: "invalid_request", message: "name: Too small: expected string to have >=1 characters", field: "name" },
};
const errorDescriptions: Record<number, string> = {
  400: "malformed request (`malformed`)",
  401: "missing, unknown or revoked credentials (`unauthorized`)",
  403: "forbidden (`read_only_key` for a read-only API key on a mutation)",
  404: "no such resource, or it belongs to another vendor (`not_found`)",
  409: "conflict (`idempotency_conflict`, …)",
  410: "gone",
  413: "body too large (`too_large`)",
  415: "body is not JSON (`unsupported_media_type`)",
  422: "the body or query breaks the schema (`invalid_request` + `field`)",
};

/** Error responses for a route declaration, all with the `Error` schema. */
export function errorResponses(...statuses: number[]) {
  return Object.fromEntries(statuses.map((s) => [s, {
    description: errorDescriptions[s] ?? "error",
    content: { "application/json": { schema: errorSchema, ...(errorExamples[s] ? { example: errorExamples[s] } : {}) } },
  }]));
}

/** The errors every vendor-key route can answer, plus the route's own. */
export function vendorErrors(...more: number[]) {
  return errorResponses(401, 403, 404, ...more);
}

/** Every example handed to `jsonBody` / `jsonResponse`, with its schema: the examples test
 * (test/e2e/openapi-examples.test.ts) parses each with its schema, so an example cannot drift
 * from what the route accepts or answers (the types catch most of it at compile time already). */
export const declaredExamples: Array<{ where: string; schema: z.ZodType; example: unknown }> = [];

/** The JSON body part of a route declaration; `example` shows in /docs and is checked against `schema`. */
export function jsonBody<T extends z.ZodType>(schema: T, options: boolean | { required?: boolean; example?: z.input<T> } = true) {
  const { required = true, example } = typeof options === "boolean" ? { required: options } : options;
  if (example !== undefined) declaredExamples.push({ where: "request body", schema, example });
  return { body: { required, content: { "application/json": { schema, ...(example !== undefined ? { example } : {}) } } } };
}

export function jsonResponse<T extends z.ZodType>(description: string, schema: T, example?: z.output<T>) {
  if (example !== undefined) declaredExamples.push({ where: `response "${description}"`, schema, example });
  return { description, content: { "application/json": { schema, ...(example !== undefined ? { example } : {}) } } };
}
