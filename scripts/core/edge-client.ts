// The vendor API of an edge as `core migrate` calls it: JSON in and out, the vendor key as bearer,
// an Idempotency-Key where given; any answer but 2xx ends the run with the edge's error.
import { CoreExit } from "./exit.ts";

export interface Edge { url: string; key: string }
interface Page<T> { items: T[]; next_cursor: string | null }

export async function call<T>(edge: Edge, method: string, path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
  const r = await fetch(edge.url + path, {
    method,
    headers: { authorization: `Bearer ${edge.key}`, ...(body !== undefined ? { "content-type": "application/json" } : {}), ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  if (!r.ok) throw new CoreExit(1, `${method} ${edge.url}${path}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Every item of a paged list. */
export async function all<T>(edge: Edge, path: string): Promise<T[]> {
  const items: T[] = [];
  for (let cursor: string | null = null; ;) {
    const page: Page<T> = await call(edge, "GET", `${path}?limit=100${cursor ? `&cursor=${cursor}` : ""}`);
    items.push(...page.items);
    if (!(cursor = page.next_cursor)) return items;
  }
}
