// The edge's OpenAPI document is valid OpenAPI 3.1 — checked in Node, because the validator
// (@seriousme/openapi-schema-validator) reads its meta-schemas from disk and compiles them with
// `new Function`, neither of which workerd allows. Needs no running worker: the document is
// generated from the app's route declarations (worker/app.ts imports no Cloudflare runtime).
import { describe, it, expect } from "vitest";
import { Validator } from "@seriousme/openapi-schema-validator";
import { app } from "../../worker/app.ts";
import { openApiDocument } from "../../worker/openapi/document.ts";

describe("the edge's OpenAPI document", () => {
  it("validates against the OpenAPI 3.1 schema", async () => {
    const document = openApiDocument(app, "https://edge.example.com");
    const result = await new Validator().validate(document as unknown as Record<string, unknown>);
    expect(result).toEqual({ valid: true });
    expect(document.openapi).toBe("3.1.0");
  });

  it("the validator is not a rubber stamp: a parameter `in: body` (OpenAPI 2, not 3.1) is refused", async () => {
    const document = structuredClone(openApiDocument(app)) as any;
    document.paths["/v1/contracts/{id}"].get.parameters[0].in = "body";
    const result = await new Validator().validate(document);
    expect(result.valid).toBe(false);
  });

  it("every $ref in the document resolves to a component", () => {
    const document = openApiDocument(app) as any;
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(10);
    expect(refs.filter((name) => !(name in document.components.schemas))).toEqual([]);
  });
});
