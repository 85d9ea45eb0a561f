CREATE TABLE `interval_units` (
	`collector_id` text NOT NULL,
	`seq` integer NOT NULL,
	`contract_id` text NOT NULL,
	`session` text NOT NULL,
	`units_num` text NOT NULL,
	PRIMARY KEY(`collector_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `interval_units_contract` ON `interval_units` (`contract_id`);