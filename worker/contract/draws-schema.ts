// The ContractDO's tables for draws (issue 15, DESIGN §5 "Feature → units"), a step of
// storage-schema.ts: who and where each session is (use-window keys), draws counted per bucket,
// interned keys, each session's use and each key's draws (ordered per key by start, then record:
// collector id as text, then seq, as the pricing engine orders records). Sessions rated before
// this step get their user and host from their records.
export const DRAWS_STEP = `
  ALTER TABLE rating_sessions ADD COLUMN user_name TEXT;
  ALTER TABLE rating_sessions ADD COLUMN host_name TEXT;
  UPDATE rating_sessions SET (user_name, host_name) = (
    SELECT r.record_json ->> '$.data.user', r.record_json ->> '$.data.host'
    FROM usage_intervals i JOIN rating_sources c ON c.no = i.source_no JOIN records r ON r.collector_id = c.collector_id AND r.seq = i.seq
    WHERE i.session_id = rating_sessions.id LIMIT 1);
  ALTER TABLE usage_buckets ADD COLUMN draws INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE draw_keys (id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE);
  CREATE TABLE draw_uses (
    session_id INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, start INTEGER NOT NULL, collector TEXT NOT NULL, seq INTEGER NOT NULL,
    feature TEXT NOT NULL, count INTEGER NOT NULL, received_at INTEGER NOT NULL);
  CREATE UNIQUE INDEX draw_uses_key ON draw_uses (key_id, start, collector, seq);
  CREATE TABLE draws (
    key_id INTEGER NOT NULL, start INTEGER NOT NULL, collector TEXT NOT NULL, seq INTEGER NOT NULL, source_no INTEGER NOT NULL,
    session_id INTEGER NOT NULL, feature TEXT NOT NULL, period INTEGER NOT NULL, arrival INTEGER NOT NULL, segment INTEGER NOT NULL,
    until INTEGER NOT NULL, units TEXT NOT NULL, draws INTEGER NOT NULL, PRIMARY KEY (key_id, start, collector, seq)) WITHOUT ROWID;
  CREATE INDEX draws_segment ON draws (segment, start, source_no, seq);
  CREATE INDEX draws_record ON draws (source_no, seq);
  CREATE INDEX draws_period ON draws (period, feature, start, collector, seq);`;
