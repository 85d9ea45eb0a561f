// How an attacker without the collector's private key alters a signed batch (DESIGN.md §4
// tamper list). Each alteration can be "covered up" the ways that need no key: renumbering
// seqs, re-linking `prev` hashes, and pointing the checkpoint at the new last record.
import { canonicalJson, hashCanonical, type Batch, type ChainRecord } from "../../../shared/protocol/index.ts";
import { between, pick, type Random } from "./budget.ts";

const clone = <T>(value: T): T => structuredClone(value);

/** Seqs contiguous from `first`, as a careful forger would leave them. */
export function resequence(records: ChainRecord[], first: number): ChainRecord[] {
  return records.map((r, i) => ({ ...r, seq: first + i }));
}

/** Every `prev` from index `from` on re-linked to the hash of the record before it. */
export function rechain(records: ChainRecord[], from = 1): ChainRecord[] {
  const out = records.map((r) => ({ ...r }));
  for (let i = Math.max(1, from); i < out.length; i++) out[i]!.prev = hashCanonical(out[i - 1]!);
  return out;
}

/** The same signature over a checkpoint re-pointed at the (altered) last record. */
export function withRecords(batch: Batch, records: ChainRecord[]): Batch {
  const last = records[records.length - 1]!;
  return { records, checkpoint: { ...batch.checkpoint, seq: last.seq, head: hashCanonical(last) }, signature: batch.signature };
}

/** A plausible edit of one record's signed content (schema stays valid). */
export function editRecord(record: ChainRecord, random: Random): { record: ChainRecord; field: string } {
  const r = clone(record);
  const d = r.data as Record<string, unknown>;
  const field = r.kind === "usage"
    ? pick(random, ["data.count", "data.end", "data.user", "data.feature", "ts", "prev", "data.extra"] as const)
    : pick(random, ["ts", "prev", "data.extra"] as const);
  switch (field) {
    case "data.count": d.count = (d.count as number) + between(random, 1, 50); break;
    case "data.end": d.end = (d.end as number) + 1000 * between(random, 1, 86_400); break;
    case "data.user": d.user = `${d.user as string}x`; break;
    case "data.feature": d.feature = "Simulink"; break;
    case "ts": r.ts += between(random, 1, 10_000); break;
    case "prev": r.prev = hashCanonical({ forged: between(random, 0, 1e9) }); break;
    case "data.extra": d.discount = "100%"; break;
  }
  return { record: r, field };
}

/** A record the site never wrote, placed at `seq` after `prevHash`. */
export function fabricatedRecord(collectorId: string, seq: number, prevHash: string, random: Random): ChainRecord {
  const start = Date.UTC(2026, 10, 20) + 1000 * between(random, 0, 86_400);
  return {
    v: 1, collector_id: collectorId, seq, prev: prevHash, ts: start, kind: "usage",
    data: { source: "flexlm", daemon: "MLM", feature: "MATLAB", user: "mallory", host: "ws-66", session: `forged-${seq}`, start, end: start + 3_600_000, count: between(random, 1, 100), final: true },
  };
}

/** JSON text of `value` that is not canonical but parses to the same object: shuffled keys at
 * every level, random whitespace, and characters written as \u escapes (or `\/`). */
export function reencode(value: unknown, random: Random): string {
  const ws = () => pick(random, ["", " ", "\n", "\t", "  ", "\r\n"]);
  const str = (s: string) => {
    let out = '"';
    for (const ch of s) {
      const code = ch.codePointAt(0)!;
      if (ch === '"' || ch === "\\") out += `\\${ch}`;
      else if (code < 0x20) out += `\\u${code.toString(16).padStart(4, "0")}`;
      else if (ch === "/" && random() < 0.5) out += "\\/";
      else if (code <= 0xffff && random() < 0.3) out += `\\u${code.toString(16).padStart(4, "0").toUpperCase()}`;
      else out += ch;
    }
    return `${out}"`;
  };
  const walk = (v: unknown): string => {
    if (Array.isArray(v)) return `[${ws()}${v.map((x) => walk(x)).join(`${ws()},${ws()}`)}${ws()}]`;
    if (v !== null && typeof v === "object") {
      const entries = Object.entries(v as Record<string, unknown>);
      for (let i = entries.length - 1; i > 0; i--) { const j = between(random, 0, i); [entries[i], entries[j]] = [entries[j]!, entries[i]!]; }
      return `{${ws()}${entries.map(([k, x]) => `${str(k)}${ws()}:${ws()}${walk(x)}`).join(`${ws()},${ws()}`)}${ws()}}`;
    }
    if (typeof v === "string") return str(v);
    return canonicalJson(v);
  };
  return walk(value);
}

/** Kinds of non-canonical number or key encodings that protocol v1 calls `malformed`. */
export const MALFORMED_ENCODINGS = ["float_same_value", "exponent_same_value", "fraction", "unsafe_integer", "negative_zero", "duplicate_key_same_value", "duplicate_key_other_value"] as const;
export type MalformedEncoding = (typeof MALFORMED_ENCODINGS)[number];

/** The batch's canonical JSON text with one integer (or key) in `records[index]` re-written as
 * `encoding`. Several of them parse, with JSON.parse, to exactly the signed values. */
export function malformedText(batch: Batch, index: number, encoding: MalformedEncoding, random: Random): string {
  const record = batch.records[index]!;
  const valueOf = (f: string) => (f.startsWith("data.") ? (record.data as Record<string, unknown>)[f.slice(5)] : (record as unknown as Record<string, unknown>)[f]);
  const intFields = ["seq", "ts", "data.start", "data.end", "data.count"].filter((f) => typeof valueOf(f) === "number");
  const field = pick(random, intFields);
  const value = valueOf(field) as number;
  const key = field.startsWith("data.") ? field.slice(5) : field;
  const replacement: Record<MalformedEncoding, string> = {
    float_same_value: `"${key}":${value}.0`,
    exponent_same_value: `"${key}":${value}e0`,
    fraction: `"${key}":${value}.5`,
    unsafe_integer: `"${key}":${Number.MAX_SAFE_INTEGER + 2 + between(random, 0, 1000) * 2}`,
    negative_zero: `"${key}":-0`,
    duplicate_key_same_value: `"${key}":${value},"${key}":${value}`,
    duplicate_key_other_value: `"${key}":${value + 1},"${key}":${value}`,
  };
  // Canonical JSON of the record, then one textual substitution inside it.
  const recordText = canonicalJson(record);
  const needle = `"${key}":${value}`;
  const at = field.startsWith("data.") ? recordText.indexOf(needle, recordText.indexOf('"data":')) : recordText.indexOf(needle);
  if (at < 0) throw new Error(`no ${needle} in record`);
  const altered = recordText.slice(0, at) + replacement[encoding] + recordText.slice(at + needle.length);
  const records = batch.records.map((r, i) => (i === index ? altered : canonicalJson(r)));
  return `{"checkpoint":${canonicalJson(batch.checkpoint)},"records":[${records.join(",")}],"signature":"${batch.signature}"}`;
}
