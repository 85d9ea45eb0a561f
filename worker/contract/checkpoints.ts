// Each accepted batch's checkpoint and signature, kept so that a site's history can be handed to
// another edge as `tally-bundle/v1` batches it verifies itself (DESIGN.md §4; docs/self-hosting.md
// "Moving between edges"). One small row per batch: the checkpoint exactly as the site signed it
// (its canonical bytes are what the signature covers), the first seq the batch added, and when it
// was received. Batches accepted before this storage step have no row: `chains.replayable_from` is
// the first seq from which the rows tile the chain up to its hwm (1 for a chain begun after it).
import type { Batch, ChainRecord, ChainState, Checkpoint } from "../../shared/protocol/index.ts";

export const CHECKPOINTS_STEP = `
  CREATE TABLE checkpoints (
    collector_id TEXT NOT NULL, seq INTEGER NOT NULL, from_seq INTEGER NOT NULL, received_at INTEGER NOT NULL,
    checkpoint_json TEXT NOT NULL, signature TEXT NOT NULL,
    PRIMARY KEY (collector_id, seq)) WITHOUT ROWID;
  ALTER TABLE chains ADD COLUMN replayable_from INTEGER NOT NULL DEFAULT 1;
  UPDATE chains SET replayable_from = hwm + 1 WHERE hwm > 0;
  ALTER TABLE chains ADD COLUMN import_to_seq INTEGER;`;

/** A history page stops adding batches past this many bytes of record JSON (a batch is at most
 * 4 MiB, so a page stays well under a bundle's 16 MiB and the isolate's memory). */
export const HISTORY_PAGE_BYTES = 4 * 1024 * 1024;
/** Checkpoint rows read per page, whatever their size. */
const HISTORY_PAGE_BATCHES = 200;

/** Stores the checkpoint of a batch that just advanced the chain to `state.hwm` (from `fromSeq`). */
export function keepCheckpoint(sql: SqlStorage, state: ChainState, fromSeq: number, body: unknown, now: number): void {
  const { checkpoint, signature } = body as { checkpoint: unknown; signature: string };
  sql.exec(
    `INSERT INTO checkpoints (collector_id, seq, from_seq, received_at, checkpoint_json, signature) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (collector_id, seq) DO NOTHING`,
    state.collector_id, state.hwm, fromSeq, now, JSON.stringify(checkpoint), signature,
  );
}

/**
 * A fork resolved at `lastCommon`: the superseded branch's checkpoints go with its records
 * (fork-resolution.ts, a range at a time). One whose batch straddled the fork point covered
 * records that stay: they are no longer under any checkpoint, so the chain is replayable only from
 * the new branch on. Only the lowest checkpoint above the fork, up to the hwm, can straddle it (one
 * index seek; those above the hwm belong to an earlier fork's old branch still being moved).
 */
export function markReplayableAbove(sql: SqlStorage, collectorId: string, lastCommon: number, hwm: number): void {
  const above = sql.exec<{ from_seq: number }>("SELECT from_seq FROM checkpoints WHERE collector_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT 1",
    collectorId, lastCommon, hwm).toArray()[0];
  const straddled = above !== undefined && above.from_seq <= lastCommon ? 1 : 0;
  // Straddled, or no row reached below the fork (history from before this step): the new branch
  // is the first replayable stretch.
  sql.exec("UPDATE chains SET replayable_from = ? WHERE collector_id = ? AND (? > 0 OR replayable_from > ?)", lastCommon + 1, collectorId, straddled, lastCommon + 1);
}

export interface HistoryPage {
  collector_id: string;
  /** First seq whose batch can be replayed (hwm + 1 when none can). */
  replayable_from: number;
  hwm: number;
  /** Each batch as the site sent it (its new records only), in chain order. */
  batches: Batch[];
  /** When this edge received each batch (ms). */
  received_at: number[];
  /** The seq to pass as `after_seq` for the next page; null on the last. */
  next_after_seq: number | null;
}

/** The batches after `afterSeq` (from the first replayable one), bounded by rows and bytes. */
export function historyPage(sql: SqlStorage, collectorId: string, afterSeq: number): HistoryPage | undefined {
  const chain = sql.exec<{ hwm: number; replayable_from: number }>("SELECT hwm, replayable_from FROM chains WHERE collector_id = ?", collectorId).toArray()[0];
  if (!chain) return undefined;
  const from = Math.max(afterSeq, chain.replayable_from - 1);
  // Up to the hwm: a resolved fork's old checkpoints above it may still wait to be moved away.
  const rows = sql.exec<{ seq: number; from_seq: number; received_at: number; checkpoint_json: string; signature: string }>(
    "SELECT seq, from_seq, received_at, checkpoint_json, signature FROM checkpoints WHERE collector_id = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
    collectorId, from, chain.hwm, HISTORY_PAGE_BATCHES,
  ).toArray();
  const page: HistoryPage = { collector_id: collectorId, replayable_from: chain.replayable_from, hwm: chain.hwm, batches: [], received_at: [], next_after_seq: null };
  let bytes = 0;
  for (const row of rows) {
    if (page.batches.length > 0 && bytes >= HISTORY_PAGE_BYTES) break;
    const records: ChainRecord[] = [];
    for (const r of sql.exec<{ record_json: string }>("SELECT record_json FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ? ORDER BY seq", collectorId, row.from_seq, row.seq)) {
      records.push(JSON.parse(r.record_json) as ChainRecord);
      bytes += r.record_json.length;
    }
    page.batches.push({ records, checkpoint: JSON.parse(row.checkpoint_json) as Checkpoint, signature: row.signature });
    page.received_at.push(row.received_at);
    page.next_after_seq = row.seq;
  }
  if (page.next_after_seq !== null && page.next_after_seq >= chain.hwm) page.next_after_seq = null;
  return page;
}
