-- usage_coarse_backfill for a D1 that applied migration 0007 as it first shipped, when 0007 summed
-- every contract's hourly history in one statement (and its triggers act on every row): there the
-- table stays empty, so every contract is whole. 0007 now creates the table itself, and pages the
-- sums per contract instead (worker/usage-coarse-backfill.ts); on such a D1 this changes nothing.
CREATE TABLE IF NOT EXISTS `usage_coarse_backfill` (
	`contract_id` text PRIMARY KEY NOT NULL,
	`next_hour` integer NOT NULL
);
