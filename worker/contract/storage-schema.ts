// The ContractDO's SQLite schema, as ordered steps: a DO created by an older version runs the
// steps it has not seen yet (later issues append steps for grants, plan versions, the doc).
import { BILLING_STEP, liveLedgerStep } from "./billing-schema.ts";
import { CHECKPOINTS_STEP } from "./checkpoints.ts";
import { DRAWS_STEP } from "./draws-schema.ts";
import { ENFORCEMENT_INDEX_STEP } from "./enforcement-log.ts";
import { EVIDENCE_PARTS_STEP } from "./evidence.ts";
import { FORK_JOBS_STEP } from "./fork-resolution.ts";
import { GRANT_EXPIRY_INDEX_STEP, NOTICES_STEP } from "./notices.ts";
import { REPROJECT_HISTORY_STEP } from "./outbox.ts";
import { STORED_USAGE_STEP } from "./stored-usage-rating.ts";
import { crossingError } from "../errors.ts";

/** SQL, or a function for a step that must compute (run inside the step's transaction). */
type Step = string | ((sql: SqlStorage) => void);

const steps: Step[] = [
  `CREATE TABLE contract (one INTEGER PRIMARY KEY CHECK (one = 1), terms_json TEXT NOT NULL);
   CREATE TABLE chains (
     collector_id TEXT PRIMARY KEY, site TEXT NOT NULL, hwm INTEGER NOT NULL, head TEXT NOT NULL,
     keys_json TEXT NOT NULL, revoked_at_seq INTEGER, flags_json TEXT NOT NULL DEFAULT '[]',
     enrolled_at INTEGER NOT NULL, last_sync INTEGER, acked_at INTEGER);
   CREATE TABLE records (
     collector_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL,
     record_json TEXT NOT NULL, received_at INTEGER NOT NULL, quarantine TEXT,
     PRIMARY KEY (collector_id, seq)) WITHOUT ROWID;
   CREATE INDEX records_quarantined ON records (collector_id, seq) WHERE quarantine IS NOT NULL;
   CREATE TABLE evidence (
     id INTEGER PRIMARY KEY AUTOINCREMENT, collector_id TEXT NOT NULL, seq INTEGER NOT NULL,
     stored_hash TEXT NOT NULL, received_hash TEXT NOT NULL, batch_json TEXT NOT NULL, received_at INTEGER NOT NULL);
   CREATE TABLE feature_usage (
     period_start INTEGER NOT NULL, feature TEXT NOT NULL, license_s TEXT NOT NULL,
     PRIMARY KEY (period_start, feature)) WITHOUT ROWID;
   CREATE TABLE outbox (
     id INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL, collector_id TEXT NOT NULL,
     from_seq INTEGER, to_seq INTEGER);
   CREATE TABLE drain_state (one INTEGER PRIMARY KEY CHECK (one = 1), failures INTEGER NOT NULL);
   INSERT INTO drain_state VALUES (1, 0);
   CREATE TABLE bench_records (collector_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL,
     record_json TEXT NOT NULL, PRIMARY KEY (collector_id, seq)) WITHOUT ROWID;`,
  // The site face: contract doc (rows + snapshot), revocation time, resolved equivocations and
  // the records of a superseded branch (kept as evidence; see fork-resolution.ts).
  `CREATE TABLE doc_rows (id INTEGER PRIMARY KEY AUTOINCREMENT, update_v2 BLOB NOT NULL);
   CREATE TABLE doc_snapshot (one INTEGER PRIMARY KEY CHECK (one = 1), state_v2 BLOB NOT NULL);
   ALTER TABLE chains ADD COLUMN revoked_at INTEGER;
   ALTER TABLE evidence ADD COLUMN resolved_at INTEGER;
   CREATE TABLE superseded_records (
     collector_id TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, kind TEXT NOT NULL,
     record_json TEXT NOT NULL, received_at INTEGER NOT NULL, quarantine TEXT, superseded_at INTEGER NOT NULL,
     PRIMARY KEY (collector_id, seq, hash)) WITHOUT ROWID;`,
  // Pricing: plan versions, grants, the rated ledger, frozen statements, alerts and events.
  BILLING_STEP,
  // Webhook notices (site.stale, grant.expiring) and the one-time re-projection of history into
  // D1's usage rollups (outbox.ts).
  NOTICES_STEP + REPROJECT_HISTORY_STEP,
  // The live ledger: aggregates by delta, statements as rows (issue 10); drops `feature_usage`.
  // Written as "whichever of the two is missing": the live ledger was developed as step 4 on its own
  // branch while main shipped the notices as step 4, so a DO at version 4 may have either.
  (sql) => {
    if (!hasTable(sql, "rating_state")) liveLedgerStep(sql);
    if (!hasTable(sql, "notices")) sql.exec(NOTICES_STEP + REPROJECT_HISTORY_STEP);
  },
  // Usage stored before this DO rated anything (a contract from a Tally without pricing) is queued
  // for rating by the alarm (stored-usage-rating.ts).
  STORED_USAGE_STEP,
  // Draws: use windows and checkouts beside license-hours (issue 15).
  DRAWS_STEP,
  // Site-side enforcement records, newest first, for the console and the status page.
  ENFORCEMENT_INDEX_STEP,
  // Each accepted batch's checkpoint and signature, so a site's history replays on another edge
  // (checkpoints.ts); and the seq a site moved here with its history is imported up to (site-import.ts).
  CHECKPOINTS_STEP,
  // An equivocating batch's JSON in parts under the 2 MB value limit (evidence.ts).
  EVIDENCE_PARTS_STEP,
  // Grants by expiry, for the grant.expiring checks every request runs (notices.ts).
  GRANT_EXPIRY_INDEX_STEP,
  // A resolved fork's old branch, moved away in bounded steps (fork-resolution.ts).
  FORK_JOBS_STEP,
];

function hasTable(sql: SqlStorage, name: string): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
}

export function migrateStorage(sql: SqlStorage, transactionSync: <T>(f: () => T) => T): void {
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)");
  const current = sql.exec<{ version: number }>("SELECT version FROM schema_version").toArray()[0]?.version ?? 0;
  // Storage a newer build migrated (a self-hosted data dir upgraded, then served by the old build
  // again): its tables hold what this build does not know to keep; refused rather than written to,
  // and every request to the contract answers 503 `storage_too_new`.
  if (current > steps.length) throw crossingError("storage_too_new", `this contract's storage is at version ${current}, newer than this build knows (${steps.length}): a newer Tally migrated it — serve it with that build, or restore the backup taken before the upgrade`);
  for (let v = current; v < steps.length; v++) {
    transactionSync(() => {
      const step = steps[v]!;
      if (typeof step === "string") sql.exec(step); else step(sql);
      sql.exec("INSERT INTO schema_version (one, version) VALUES (1, ?) ON CONFLICT (one) DO UPDATE SET version = excluded.version", v + 1);
    });
  }
}
