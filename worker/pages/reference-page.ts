// GET /docs: the API reference rendered on the server from the OpenAPI document — operations by
// tag with their parameters, request body and responses, and the named schemas. Self-contained
// (no CDN, no script), so it works offline and in tests.
import { escapeHtml, renderPage } from "./layout.ts";

type Json = Record<string, any>;
const METHODS = ["get", "post", "put", "patch", "delete"] as const;

export function renderReference(doc: Json): string {
  const operations: Array<{ method: string; path: string; op: Json }> = [];
  for (const [path, item] of Object.entries<Json>(doc.paths ?? {})) {
    for (const method of METHODS) if (item[method]) operations.push({ method, path, op: item[method] });
  }
  const tags: Json[] = doc.tags ?? [];
  const sections = tags.map((tag) => {
    const ops = operations.filter((o) => (o.op.tags ?? []).includes(tag.name));
    if (ops.length === 0) return "";
    return `<section><h2 id="tag-${escapeHtml(tag.name)}">${escapeHtml(tag.description ?? tag.name)}</h2>${ops.map(renderOperation).join("")}</section>`;
  }).join("");
  const index = operations.map((o) => `<li><a href="#${anchor(o.method, o.path)}"><code>${o.method.toUpperCase()} ${escapeHtml(o.path)}</code></a> ${escapeHtml(o.op.summary ?? "")}</li>`).join("");
  const schemas = Object.entries<Json>(doc.components?.schemas ?? {})
    .map(([name, schema]) => `<section><h3 id="schema-${escapeHtml(name)}">${escapeHtml(name)}</h3>${renderSchema(schema, 0)}</section>`).join("");
  const security = Object.entries<Json>(doc.components?.securitySchemes ?? {})
    .map(([name, s]) => `<li><code>${escapeHtml(name)}</code>: ${escapeHtml(s.description ?? s.scheme ?? "")}</li>`).join("");
  return renderPage(`${doc.info?.title ?? "API"} reference`, `
<h1>${escapeHtml(doc.info?.title ?? "API")} <span class="muted">v${escapeHtml(doc.info?.version ?? "")}</span></h1>
<p>${escapeHtml(doc.info?.description ?? "")}</p>
<p>Machine-readable: <a href="/openapi.json"><code>/openapi.json</code></a> (OpenAPI ${escapeHtml(doc.openapi ?? "")}).</p>
<h2>Authentication</h2><ul>${security}</ul>
<h2>Operations</h2><ul>${index}</ul>${sections}
<h2>Schemas</h2>${schemas}`);
}

function anchor(method: string, path: string): string {
  return `op-${method}-${path.replace(/[^A-Za-z0-9]+/g, "-")}`;
}

function renderOperation({ method, path, op }: { method: string; path: string; op: Json }): string {
  const auth = (op.security ?? []).flatMap((s: Json) => Object.keys(s));
  const params: Json[] = op.parameters ?? [];
  const paramRows = params.map((p) => `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td>`
    + `<td>${p.required ? "yes" : "no"}</td><td>${renderSchema(p.schema ?? {}, 1)}${p.description ? escapeHtml(p.description) : ""}</td></tr>`).join("");
  const body = op.requestBody?.content
    ? Object.entries<Json>(op.requestBody.content).map(([type, media]) => `<p>Body <code>${escapeHtml(type)}</code>${op.requestBody.required ? "" : " (optional)"}:</p>${renderSchema(media.schema ?? {}, 0)}`).join("")
    : "";
  const responses = Object.entries<Json>(op.responses ?? {}).map(([status, r]) => {
    const content = Object.entries<Json>(r.content ?? {}).map(([type, media]) => `<code>${escapeHtml(type)}</code> ${renderSchema(media.schema ?? {}, 1)}`).join(" ");
    return `<tr><td>${escapeHtml(status)}</td><td>${escapeHtml(r.description ?? "")} ${content}</td></tr>`;
  }).join("");
  return `<article><h3 id="${anchor(method, path)}"><code>${method.toUpperCase()} ${escapeHtml(path)}</code></h3>`
    + `<p>${escapeHtml(op.summary ?? "")}${op.description ? `<br><span class="muted">${escapeHtml(op.description)}</span>` : ""}</p>`
    + `<p class="muted">Auth: ${auth.length ? auth.map((a: string) => `<code>${escapeHtml(a)}</code>`).join(", ") : "none"}</p>`
    + (paramRows ? `<div class="wide"><table><caption>Parameters</caption><thead><tr><th scope="col">Name</th><th scope="col">In</th><th scope="col">Required</th><th scope="col">Schema</th></tr></thead><tbody>${paramRows}</tbody></table></div>` : "")
    + body
    + `<div class="wide"><table><caption>Responses</caption><thead><tr><th scope="col">Status</th><th scope="col">Meaning</th></tr></thead><tbody>${responses}</tbody></table></div></article>`;
}

/** A schema as a short type expression; objects (at the top level) as a list of their properties. */
export function renderSchema(schema: Json, depth: number): string {
  if (schema.$ref) {
    const name = String(schema.$ref).split("/").pop() ?? "";
    return `<a href="#schema-${escapeHtml(name)}"><code>${escapeHtml(name)}</code></a>`;
  }
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    if (Array.isArray(schema[key])) return schema[key].map((s: Json) => renderSchema(s, depth + 1)).join(key === "allOf" ? " and " : " | ");
  }
  const type = Array.isArray(schema.type) ? schema.type.join(" | ") : schema.type;
  if (type === "array") return `array of ${renderSchema(schema.items ?? {}, depth + 1)}`;
  if (type === "object" || schema.properties) {
    const props = Object.entries<Json>(schema.properties ?? {});
    if (depth > 2 || props.length === 0) return `<code>object</code>`;
    const required = new Set<string>(schema.required ?? []);
    return `<ul>${props.map(([name, s]) => `<li><code>${escapeHtml(name)}</code>${required.has(name) ? "" : "?"}: ${renderSchema(s, depth + 1)}`
      + `${s.description ? ` <span class="muted">${escapeHtml(s.description)}</span>` : ""}</li>`).join("")}</ul>`;
  }
  const details = [
    schema.enum ? `one of ${schema.enum.map((v: unknown) => JSON.stringify(v)).join(", ")}` : "",
    schema.const !== undefined ? `= ${JSON.stringify(schema.const)}` : "",
    schema.pattern ? `pattern <code>${escapeHtml(schema.pattern)}</code>` : "",
    schema.minimum !== undefined || schema.maximum !== undefined ? `${schema.minimum ?? ""}…${schema.maximum ?? ""}` : "",
  ].filter(Boolean).join(", ");
  return `<code>${escapeHtml(type ?? "any")}</code>${details ? ` (${details})` : ""}`;
}
