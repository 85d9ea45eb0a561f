-- Usage rollups (issue 10, item 5). usage_facts and usage_rollups start empty on an existing D1:
-- their hours are local hours of each contract's time zone, which SQL cannot compute, so each
-- ContractDO re-projects its own history through its ordinary drain (DO storage step
-- REPROJECT_HISTORY_STEP, queued when the upgraded DO first wakes; any request arms it, and
-- POST /v1/admin/contracts/:id/reconcile finds and queues whatever is still missing).
-- interval_units is dropped: usage_facts carries the same units with the dimensions beside them.
CREATE TABLE `projection_guard` (
	`revision_changed` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `projection_revs` (
	`contract_id` text PRIMARY KEY NOT NULL,
	`rev` integer NOT NULL,
	`max_span_ms` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `usage_facts` (
	`collector_id` text NOT NULL,
	`seq` integer NOT NULL,
	`contract_id` text NOT NULL,
	`kind` text NOT NULL,
	`session` text,
	`feature` text NOT NULL,
	`product` text NOT NULL,
	`user` text NOT NULL,
	`host` text NOT NULL,
	`start` integer NOT NULL,
	`end` integer NOT NULL,
	`count` integer NOT NULL,
	`units_num` text NOT NULL,
	`first` integer NOT NULL,
	PRIMARY KEY(`collector_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `usage_facts_contract_collector` ON `usage_facts` (`contract_id`,`collector_id`);--> statement-breakpoint
CREATE INDEX `usage_facts_collector_start` ON `usage_facts` (`collector_id`,`start`);--> statement-breakpoint
CREATE INDEX `usage_facts_session` ON `usage_facts` (`collector_id`,`session`,`start`,`seq`);--> statement-breakpoint
CREATE TABLE `usage_rollups` (
	`contract_id` text NOT NULL,
	`hour` integer NOT NULL,
	`collector_id` text NOT NULL,
	`feature` text NOT NULL,
	`product` text NOT NULL,
	`user` text NOT NULL,
	`host` text NOT NULL,
	`day` text NOT NULL,
	`license_s` integer NOT NULL,
	`units_num` text NOT NULL,
	`sessions` integer NOT NULL,
	`denials` integer NOT NULL,
	PRIMARY KEY(`contract_id`, `hour`, `collector_id`, `feature`, `product`, `user`, `host`)
);
--> statement-breakpoint
CREATE INDEX `usage_rollups_collector` ON `usage_rollups` (`contract_id`,`collector_id`,`hour`);--> statement-breakpoint
DROP TABLE `interval_units`;--> statement-breakpoint
DROP INDEX `records_contract_start`;--> statement-breakpoint
CREATE INDEX `records_contract_collector` ON `records` (`contract_id`,`collector_id`);--> statement-breakpoint
ALTER TABLE `idempotency_keys` ADD `claim` text;--> statement-breakpoint
CREATE INDEX `idempotency_keys_created` ON `idempotency_keys` (`created_at`);