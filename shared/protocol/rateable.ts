// "Accept, then rate" (DESIGN.md §4): a verified record is always receipted; this decides whether
// the edge can rate it or must quarantine it with a reason.
import { recordDataSchemas, type ChainRecord } from "./schema.ts";

export type Rateability = { rateable: true } | { rateable: false; reason: string };

const MAX_FUTURE_MS = 24 * 3600 * 1000;

export function rateability(record: ChainRecord, receivedAt: number, contractStartMs: number): Rateability {
  const schema = recordDataSchemas[record.kind as keyof typeof recordDataSchemas];
  if (!schema) return { rateable: false, reason: `unknown kind ${record.kind}` };
  const parsed = schema.safeParse(record.data);
  if (!parsed.success) return { rateable: false, reason: `data.${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message}` };
  if (record.kind !== "usage") return { rateable: true };
  const d = record.data as { start: number; end: number; count: number };
  if (d.end <= d.start) return { rateable: false, reason: "end is not after start" };
  if (d.count < 1) return { rateable: false, reason: "count below 1" };
  if (d.start % 1000 !== 0 || d.end % 1000 !== 0) return { rateable: false, reason: "start/end are not whole seconds" };
  if (d.end > receivedAt + MAX_FUTURE_MS) return { rateable: false, reason: "ends more than 24 h after it was received" };
  if (d.start < contractStartMs) return { rateable: false, reason: "usage before the contract start" };
  return { rateable: true };
}
