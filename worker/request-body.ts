// Reads a JSON API body: unparseable → 400 `malformed`; fails the schema → 422 `invalid_request`
// naming the field.
import type { Context } from "hono";
import type { z } from "zod";
import { EdgeError } from "./errors.ts";

export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let value: unknown;
  try {
    value = JSON.parse(await c.req.text());
  } catch {
    throw new EdgeError("malformed", "request body is not valid JSON");
  }
  return validated(schema, value, "");
}

export function validated<S extends z.ZodType>(schema: S, value: unknown, prefix: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = prefix + (issue?.path.join(".") ?? "");
    throw new EdgeError("invalid_request", `${field || "body"}: ${issue?.message ?? "invalid"}`, { field: field || "body" });
  }
  return parsed.data;
}
