// Equivocation evidence (DESIGN.md §4): the batch that forked a chain, kept as the site sent it.
// A batch may be 4 MiB of JSON, past Cloudflare's 2 MB limit on a stored value (local workerd does
// not enforce it: a fork sent in a large batch failed with 500 in production and kept nothing), so
// its JSON is cut into parts of at most PART_CHARS UTF-16 units (≤ 3 bytes each in UTF-8): the
// first in `evidence.batch_json`, the rest in `evidence_parts`, read back by concatenation.
import type { Batch, EquivocationEvidence } from "../../shared/protocol/index.ts";

export const EVIDENCE_PARTS_STEP = `
  CREATE TABLE evidence_parts (evidence_id INTEGER NOT NULL, part INTEGER NOT NULL, text TEXT NOT NULL,
    PRIMARY KEY (evidence_id, part)) WITHOUT ROWID;`;

/** 256 Ki UTF-16 units: at most 768 KiB of UTF-8 per stored value. */
export const PART_CHARS = 256 * 1024;

/** `text` in parts of at most `size` units, never splitting a surrogate pair (a lone half is not UTF-8). */
export function textParts(text: string, size = PART_CHARS): string[] {
  const parts: string[] = [];
  for (let at = 0; at < text.length || parts.length === 0;) {
    let end = Math.min(text.length, at + size);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts;
}

export function keepEvidence(sql: SqlStorage, collectorId: string, evidence: EquivocationEvidence, now: number): void {
  const [first, ...rest] = textParts(JSON.stringify(evidence.batch));
  const id = sql.exec<{ id: number }>(
    "INSERT INTO evidence (collector_id, seq, stored_hash, received_hash, batch_json, received_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
    collectorId, evidence.seq, evidence.stored_hash, evidence.received_hash, first!, now,
  ).one().id;
  rest.forEach((text, i) => sql.exec("INSERT INTO evidence_parts (evidence_id, part, text) VALUES (?, ?, ?)", id, i + 1, text));
}

/** The batch kept as evidence `id`, whole. */
export function evidenceBatch(sql: SqlStorage, id: number): Batch | undefined {
  const head = sql.exec<{ batch_json: string }>("SELECT batch_json FROM evidence WHERE id = ?", id).toArray()[0];
  if (!head) return undefined;
  let json = head.batch_json;
  for (const r of sql.exec<{ text: string }>("SELECT text FROM evidence_parts WHERE evidence_id = ? ORDER BY part", id)) json += r.text;
  return JSON.parse(json) as Batch;
}
