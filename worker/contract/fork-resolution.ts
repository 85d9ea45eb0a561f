// Resolving an equivocation (DESIGN.md §4 "Recovery"): a site restored from a VM snapshot forked
// its chain; the vendor decides the site's new branch is the truth. The edge rewinds the chain to
// the last seq both branches share, moves the old branch's records above it into
// `superseded_records` (kept as evidence, never deleted), takes their rated usage back out of the
// aggregates (so nothing is counted twice when the new branch arrives), drops key rotations the
// old branch made, clears the flag and marks the evidence resolved. The collector then sends its
// branch from the fork point as ordinary fresh records.
//
// The last common seq defaults to (first unresolved evidence seq − 1): the collector sends from
// its receipt cursor, so the records before the first differing seq are the ones both branches
// share. A caller may name it (`last_common_seq`) when the evidence cannot tell, e.g. a
// hand-written client whose batch did not overlap the stored chain.
import { dropCheckpointsAbove } from "./checkpoints.ts";
import { ZERO_HASH } from "../../shared/protocol/index.ts";
import { EQUIVOCATION_FLAG } from "./apply-batch.ts";
import { loadChain } from "./chains.ts";
import type { ContractTerms } from "./terms.ts";

export type ResolutionOutcome =
  | { ok: true; resolution: Resolution }
  | { ok: false; code: "not_found" | "nothing_to_resolve" | "invalid_request"; message: string };

export interface Resolution {
  collector_id: string;
  last_common_seq: number;
  /** The old branch's records now kept only as evidence. */
  superseded: { from_seq: number; to_seq: number; records: number };
  hwm: number;
  resolved_at: number;
}

export function resolveFork(sql: SqlStorage, terms: ContractTerms, collectorId: string, lastCommon: number | undefined, now: number): ResolutionOutcome {
  const chain = loadChain(sql, collectorId);
  if (!chain) return { ok: false, code: "not_found", message: `no collector ${collectorId}` };
  const flags = JSON.parse(chain.flags_json) as string[];
  if (!flags.includes(EQUIVOCATION_FLAG)) {
    return { ok: false, code: "nothing_to_resolve", message: `collector ${collectorId} has no equivocation to resolve` };
  }
  const firstFork = sql.exec<{ seq: number | null }>(
    "SELECT min(seq) AS seq FROM evidence WHERE collector_id = ? AND resolved_at IS NULL", collectorId).one().seq;
  const last = lastCommon ?? Math.min((firstFork ?? chain.hwm + 1) - 1, chain.hwm);
  if (!Number.isSafeInteger(last) || last < 0 || last > chain.hwm) {
    return { ok: false, code: "invalid_request", message: `last_common_seq must be between 0 and the hwm ${chain.hwm}` };
  }

  const moved = sql.exec<{ n: number }>("SELECT count(*) AS n FROM records WHERE collector_id = ? AND seq > ?", collectorId, last).one().n;
  sql.exec(
    `INSERT OR IGNORE INTO superseded_records (collector_id, seq, hash, kind, record_json, received_at, quarantine, superseded_at)
     SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine, ? FROM records WHERE collector_id = ? AND seq > ?`,
    now, collectorId, last);
  // Their rated usage leaves the aggregates with them: the caller drops it (billing.dropRecords).
  sql.exec("DELETE FROM records WHERE collector_id = ? AND seq > ?", collectorId, last);
  dropCheckpointsAbove(sql, collectorId, last);

  const kept = last === 0 ? undefined : sql.exec<{ hash: string; received_at: number }>(
    "SELECT hash, received_at FROM records WHERE collector_id = ? AND seq = ?", collectorId, last).toArray()[0];
  const keys = (JSON.parse(chain.keys_json) as Array<{ from_seq: number; public_key: string }>).filter((k) => k.from_seq <= last + 1);
  sql.exec(
    `UPDATE chains SET hwm = ?, head = ?, keys_json = ?, acked_at = ?, flags_json = ?,
       revoked_at_seq = CASE WHEN revoked_at_seq IS NULL THEN NULL ELSE min(revoked_at_seq, ?) END
     WHERE collector_id = ?`,
    last, kept?.hash ?? ZERO_HASH, JSON.stringify(keys), kept?.received_at ?? null,
    JSON.stringify(flags.filter((f) => f !== EQUIVOCATION_FLAG)), last, collectorId);
  sql.exec("UPDATE evidence SET resolved_at = ? WHERE collector_id = ? AND resolved_at IS NULL", now, collectorId);
  if (moved > 0) {
    sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('supersede', ?, ?, ?)", collectorId, last + 1, chain.hwm);
  }
  sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector', ?)", collectorId);
  return {
    ok: true,
    resolution: {
      collector_id: collectorId, last_common_seq: last, hwm: last, resolved_at: now,
      superseded: { from_seq: last + 1, to_seq: chain.hwm, records: moved },
    },
  };
}
