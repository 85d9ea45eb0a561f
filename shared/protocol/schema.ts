// Protocol v1 shapes (DESIGN.md §4): record envelope, record data per kind, checkpoint,
// receipt, batch, bundle. Validation only checks; it never transforms what gets hashed.
import { z } from "zod";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "64 lower-case hex digits");
const hex128 = z.string().regex(/^[0-9a-f]{128}$/, "128 lower-case hex digits");
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
const ms = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const name = z.string().min(1).max(256);

export const collectorIdSchema = z.string().regex(/^col_[A-Za-z0-9_-]{1,64}$/, "a collector id (col_…)");

/** The envelope every record has; `data` is checked per kind by `recordDataSchemas`. */
export const recordSchema = z.strictObject({
  v: z.literal(1),
  collector_id: collectorIdSchema,
  seq,
  prev: hex64,
  ts: ms,
  kind: z.string().min(1).max(64),
  data: z.record(z.string(), z.unknown()),
});
export type ChainRecord = z.infer<typeof recordSchema>;

export const usageDataSchema = z.looseObject({
  source: name,
  daemon: name,
  feature: name,
  version: z.string().max(256).optional(),
  /** Token pools: the product that drew the tokens; `feature` is the pool (DESIGN.md §4). */
  product: name.optional(),
  user: z.string().max(512),
  host: z.string().max(512),
  session: name,
  start: ms,
  end: ms,
  count: z.number().int(),
  final: z.boolean(),
});
export type UsageData = z.infer<typeof usageDataSchema>;

export const denialDataSchema = z.looseObject({
  source: name, daemon: name, feature: name,
  user: z.string().max(512), host: z.string().max(512),
  at: ms, reason: z.string().max(1024),
});
export type DenialData = z.infer<typeof denialDataSchema>;

export const heartbeatDataSchema = z.looseObject({
  sources: z.array(z.looseObject({ source: name, up: z.boolean(), at: ms })).max(1000),
});
export type HeartbeatData = z.infer<typeof heartbeatDataSchema>;

export const keyRotationDataSchema = z.looseObject({ public_key: hex64 });
export type KeyRotationData = z.infer<typeof keyRotationDataSchema>;

/** What a site did to its license manager's options file (site-side enforcement); never billed. */
export const enforcementDataSchema = z.looseObject({
  action: z.enum(["block", "unblock"]),
  features: z.array(name).max(1000),
  at: ms,
  result: z.string().min(1).max(1024),
});
export type EnforcementData = z.infer<typeof enforcementDataSchema>;

export const recordDataSchemas = {
  usage: usageDataSchema,
  denial: denialDataSchema,
  heartbeat: heartbeatDataSchema,
  enforcement: enforcementDataSchema,
  key_rotation: keyRotationDataSchema,
} as const;
export type RecordKind = keyof typeof recordDataSchemas;

/** What the collector appends before the chain fields are added. */
export type RecordBody =
  | { kind: "usage"; data: UsageData }
  | { kind: "denial"; data: DenialData }
  | { kind: "heartbeat"; data: HeartbeatData }
  | { kind: "enforcement"; data: EnforcementData }
  | { kind: "key_rotation"; data: KeyRotationData };

export const checkpointSchema = z.strictObject({ collector_id: collectorIdSchema, seq, head: hex64, ts: ms });
export type Checkpoint = z.infer<typeof checkpointSchema>;

export const MAX_BATCH_RECORDS = 5000;
/** A record's canonical bytes are at most 64 KiB (DESIGN.md §4): the collector refuses to write a
 * bigger one, the edge answers 413 `record_too_large` for a batch holding one. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Decoded body limit (after gzip). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

export const batchSchema = z.strictObject({
  records: z.array(z.unknown()).min(1).max(MAX_BATCH_RECORDS),
  checkpoint: checkpointSchema,
  signature: hex128,
});
export type Batch = { records: ChainRecord[]; checkpoint: Checkpoint; signature: string };

export const receiptSchema = z.strictObject({
  collector_id: collectorIdSchema,
  acked_seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  head: hex64,
  received_at: ms,
  key_id: z.string().min(1).max(64),
});
export type Receipt = z.infer<typeof receiptSchema>;

export const signedReceiptSchema = z.strictObject({ receipt: receiptSchema, signature: hex128 });
export type SignedReceipt = z.infer<typeof signedReceiptSchema>;

export const BUNDLE_FORMAT = "tally-bundle/v1";
/** Decoded (after gzip) size cap of a bundle upload: 4 full batches. A Worker must hold the
 * text and its parse in 128 MB, and the batches cross one RPC to the ContractDO (32 MiB).
 * `collector export` never writes a bigger bundle; a larger backlog is written as several, uploaded in order. */
export const MAX_BUNDLE_BYTES = 16 * 1024 * 1024;
export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  collector_id: collectorIdSchema,
  batches: z.array(z.unknown()).max(10_000),
});
