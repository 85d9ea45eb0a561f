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
//
// The old branch may be a million records (a snapshot months old), and moving and un-rating it
// costs per record, so the resolution itself does only the part that does not grow with it (the
// rewind, the flag, the evidence) and queues a `fork_jobs` row: the old branch's seqs still to
// move. `supersedeStep` works it off SUPERSEDE_CHUNK seqs at a time, each step one transaction
// (the request's first, then the alarm's; a step that fails rolls back whole and is redone).
// The new branch takes the same seqs: a batch first supersedes the seqs it may reach (at most
// its length past the hwm), so the job's next seq is always above the chain's hwm and the
// old record at a seq is gone, with its usage, before the new one is stored (docs/decisions.md).
import { ZERO_HASH } from "../../shared/protocol/index.ts";
import { EQUIVOCATION_FLAG } from "./apply-batch.ts";
import { loadChain } from "./chains.ts";
import { markReplayableAbove } from "./checkpoints.ts";

export const FORK_JOBS_STEP = `
  CREATE TABLE fork_jobs (collector_id TEXT PRIMARY KEY, from_seq INTEGER NOT NULL, next_seq INTEGER NOT NULL,
    to_seq INTEGER NOT NULL, superseded_at INTEGER NOT NULL);`;

/** Seqs one step moves: ≈ 14 rows read and 4 written per usage record, so a step stays well
 * inside a request's CPU and memory whatever the branch's length. */
export const SUPERSEDE_CHUNK = 1000;

export type ResolutionOutcome =
  | { ok: true; resolution: Resolution }
  | { ok: false; code: "not_found" | "nothing_to_resolve" | "invalid_request"; message: string };

export interface Resolution {
  collector_id: string;
  last_common_seq: number;
  /** The old branch's records now kept only as evidence (a chain holds every seq up to its hwm). */
  superseded: { from_seq: number; to_seq: number; records: number };
  hwm: number;
  resolved_at: number;
}

/** The resolution's own part: bounded, whatever the old branch's length. Its records move by `supersedeStep`. */
export function resolveFork(sql: SqlStorage, collectorId: string, lastCommon: number | undefined, now: number): ResolutionOutcome {
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

  markReplayableAbove(sql, collectorId, last, chain.hwm);
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
  if (chain.hwm > last) {
    // A job still pending (a second fork resolved before the first's old branch was all moved)
    // lies above the old hwm, so one range covers both.
    sql.exec(
      `INSERT INTO fork_jobs (collector_id, from_seq, next_seq, to_seq, superseded_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (collector_id) DO UPDATE SET from_seq = min(from_seq, excluded.from_seq), next_seq = excluded.next_seq,
         to_seq = max(to_seq, excluded.to_seq), superseded_at = excluded.superseded_at`,
      collectorId, last + 1, last + 1, chain.hwm, now);
  }
  sql.exec("INSERT INTO outbox (topic, collector_id) VALUES ('collector', ?)", collectorId);
  return {
    ok: true,
    resolution: {
      collector_id: collectorId, last_common_seq: last, hwm: last, resolved_at: now,
      superseded: { from_seq: last + 1, to_seq: chain.hwm, records: chain.hwm - last },
    },
  };
}

interface ForkJob { collector_id: string; from_seq: number; next_seq: number; to_seq: number; superseded_at: number }

/** Takes a range of a collector's usage out of the ledger, with the rest of its sessions' usage up to `restTo` (billing.dropRecords). */
export type DropUsage = (collectorId: string, fromSeq: number, toSeq: number, restTo: number) => void;

/**
 * One step of a pending job (the collector's, or any): moves its next `limit` seqs — or up to
 * `through` when that is further (a batch about to store seqs up to it) — out of `records`, their
 * usage out of the ledger, their checkpoints away, and queues their removal from D1 (`limit` 0 and
 * `through` below the job's next seq: nothing to do). Call inside a transaction; idempotent (a record
 * already copied is ignored). Answers whether any job remains.
 */
export function supersedeStep(sql: SqlStorage, drop: DropUsage, limit: number, collectorId?: string, through = 0): "none" | "more" | "done" {
  const job = (collectorId === undefined
    ? sql.exec<ForkJob & Record<string, SqlStorageValue>>("SELECT * FROM fork_jobs ORDER BY collector_id LIMIT 1")
    : sql.exec<ForkJob & Record<string, SqlStorageValue>>("SELECT * FROM fork_jobs WHERE collector_id = ?", collectorId)).toArray()[0];
  if (!job) return "none";
  const from = job.next_seq;
  const to = Math.min(job.to_seq, Math.max(from + limit - 1, through));
  if (to < from) return "more";
  const c = job.collector_id;
  sql.exec(
    `INSERT OR IGNORE INTO superseded_records (collector_id, seq, hash, kind, record_json, received_at, quarantine, superseded_at)
     SELECT collector_id, seq, hash, kind, record_json, received_at, quarantine, ? FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ?`,
    job.superseded_at, c, from, to);
  drop(c, from, to, job.to_seq);
  sql.exec("DELETE FROM records WHERE collector_id = ? AND seq BETWEEN ? AND ?", c, from, to);
  sql.exec("DELETE FROM checkpoints WHERE collector_id = ? AND seq BETWEEN ? AND ?", c, from, to);
  sql.exec("INSERT INTO outbox (topic, collector_id, from_seq, to_seq) VALUES ('supersede', ?, ?, ?)", c, from, to);
  if (to >= job.to_seq) sql.exec("DELETE FROM fork_jobs WHERE collector_id = ?", c);
  else sql.exec("UPDATE fork_jobs SET next_seq = ? WHERE collector_id = ?", to + 1, c);
  return supersedePending(sql) ? "more" : "done";
}

/** Seqs of superseded branches still to move, and those moved (a few rows: one per collector). */
export function supersedeProgress(sql: SqlStorage): { done: number; total: number } | undefined {
  const r = sql.exec<{ n: number; done: number | null; total: number | null }>(
    "SELECT count(*) AS n, sum(next_seq - from_seq) AS done, sum(to_seq - from_seq + 1) AS total FROM fork_jobs").one();
  return r.n === 0 ? undefined : { done: r.done ?? 0, total: r.total ?? 0 };
}

export function supersedePending(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM fork_jobs LIMIT 1").toArray().length > 0;
}
