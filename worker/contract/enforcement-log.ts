// What sites did to their license managers (site-side enforcement, collector/enforce/): the
// `enforcement` records the ContractDO stored, newest first. Not billed and not projected into the
// usage rollups; read from the DO through a partial index, so a page costs O(its rows) however
// many usage records the contract holds.

/** A ContractDO storage step (storage-schema.ts). */
export const ENFORCEMENT_INDEX_STEP = `
  CREATE INDEX records_enforcement ON records (received_at, collector_id, seq) WHERE kind = 'enforcement';`;

export interface EnforcementEntry {
  collector_id: string;
  site: string;
  seq: number;
  action: string;
  features: string[];
  /** When the site changed its options file (the record's `at`), ms. */
  at: number;
  result: string;
  received_at: number;
}

/** Position after which the next page starts (exclusive): the last entry of the previous page. */
export interface EnforcementCursor { received_at: number; collector_id: string; seq: number }

export function recentEnforcement(sql: SqlStorage, limit: number, after?: EnforcementCursor): EnforcementEntry[] {
  const before = after ? "AND (r.received_at, r.collector_id, r.seq) < (?, ?, ?)" : "";
  const bindings = after ? [after.received_at, after.collector_id, after.seq, limit] : [limit];
  const rows = sql.exec<{ collector_id: string; seq: number; record_json: string; received_at: number; site: string }>(
    `SELECT r.collector_id, r.seq, r.record_json, r.received_at, c.site FROM records r JOIN chains c ON c.collector_id = r.collector_id
     WHERE r.kind = 'enforcement' AND r.quarantine IS NULL ${before}
     ORDER BY r.received_at DESC, r.collector_id DESC, r.seq DESC LIMIT ?`, ...bindings).toArray();
  return rows.map((r) => {
    const d = (JSON.parse(r.record_json) as { data: { action: string; features: string[]; at: number; result: string } }).data;
    return { collector_id: r.collector_id, site: r.site, seq: r.seq, action: d.action, features: d.features, at: d.at, result: d.result, received_at: r.received_at };
  });
}
