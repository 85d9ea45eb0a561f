// Every route in the edge's OpenAPI document shows an example of what it takes and answers
// (/docs renders them), and every example declared through `jsonBody` / `jsonResponse` is valid
// for its route's own zod schema, so an example cannot drift from what the route accepts.
// In Node: the document is built from the route declarations (worker/app.ts).
import { describe, expect, it } from "vitest";
import { app } from "../../worker/app.ts";
import { openApiDocument } from "../../worker/openapi/document.ts";
import { declaredExamples } from "../../worker/openapi/schemas.ts";

type Json = Record<string, any>;
const METHODS = ["get", "post", "put", "patch", "delete"];
/** An HTML page or a binary y-protocols message makes no example a client can use. */
const UNSHOWABLE = new Set(["text/html", "application/octet-stream"]);

function operations(): Array<{ route: string; op: Json }> {
  const doc = openApiDocument(app) as unknown as Json;
  return Object.entries<Json>(doc.paths).flatMap(([path, item]) => METHODS.filter((m) => item[m]).map((m) => ({ route: `${m.toUpperCase()} ${path}`, op: item[m] })));
}

describe("examples in the OpenAPI document", () => {
  it("every request body and every answer of every route has an example (binary and HTML aside)", () => {
    const missing: string[] = [];
    for (const { route, op } of operations()) {
      for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {})) {
        if (media.example === undefined && !UNSHOWABLE.has(type)) missing.push(`${route} request ${type}`);
      }
      for (const [status, response] of Object.entries<Json>(op.responses)) {
        for (const [type, media] of Object.entries<Json>(response.content ?? {})) {
          if (media.example === undefined && !UNSHOWABLE.has(type)) missing.push(`${route} ${status} ${type}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("every declared example is valid for its schema", () => {
    expect(declaredExamples.length).toBeGreaterThan(30);
    const invalid = declaredExamples
      .map(({ where, schema, example }) => ({ where, result: schema.safeParse(example) }))
      .filter((e) => !e.result.success)
      .map((e) => `${e.where}: ${e.result.error!.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`);
    expect(invalid).toEqual([]);
  });

  it("the check is not a rubber stamp: an example that breaks its schema is reported", () => {
    const balance = declaredExamples.find((e) => e.where === 'response "the balance"')!;
    expect(balance.schema.safeParse({ ...(balance.example as Json), usage: { license_seconds: "many" } }).success).toBe(false);
  });
});
