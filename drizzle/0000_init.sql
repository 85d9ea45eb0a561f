CREATE TABLE `api_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`vendor_id` text NOT NULL,
	`key_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`vendor_id`) REFERENCES `vendors`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `api_keys_key_hash_unique` ON `api_keys` (`key_hash`);--> statement-breakpoint
CREATE TABLE `collectors` (
	`id` text PRIMARY KEY NOT NULL,
	`contract_id` text NOT NULL,
	`vendor_id` text NOT NULL,
	`public_key` text NOT NULL,
	`token_hash` text NOT NULL,
	`site` text NOT NULL,
	`enrolled_at` integer NOT NULL,
	`hwm` integer DEFAULT 0 NOT NULL,
	`last_sync` integer,
	`flags_json` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`contract_id`) REFERENCES `contracts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `collectors_token_hash_unique` ON `collectors` (`token_hash`);--> statement-breakpoint
CREATE INDEX `collectors_contract` ON `collectors` (`contract_id`);--> statement-breakpoint
CREATE TABLE `contracts` (
	`id` text PRIMARY KEY NOT NULL,
	`vendor_id` text NOT NULL,
	`customer_id` text NOT NULL,
	`plan_json` text NOT NULL,
	`start_date` text NOT NULL,
	`start_at` integer NOT NULL,
	`timezone` text NOT NULL,
	`statement_grace_h` integer NOT NULL,
	`expected_sync_s` integer NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`vendor_id`) REFERENCES `vendors`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`customer_id`) REFERENCES `customers`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `contracts_vendor` ON `contracts` (`vendor_id`,`id`);--> statement-breakpoint
CREATE TABLE `customers` (
	`id` text PRIMARY KEY NOT NULL,
	`vendor_id` text NOT NULL,
	`name` text NOT NULL,
	`external_id` text,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`vendor_id`) REFERENCES `vendors`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `customers_vendor` ON `customers` (`vendor_id`,`id`);--> statement-breakpoint
CREATE TABLE `enrollments` (
	`id` text PRIMARY KEY NOT NULL,
	`token_hash` text NOT NULL,
	`contract_id` text NOT NULL,
	`vendor_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`used_at` integer,
	`collector_id` text,
	FOREIGN KEY (`contract_id`) REFERENCES `contracts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `enrollments_token_hash_unique` ON `enrollments` (`token_hash`);--> statement-breakpoint
CREATE TABLE `idempotency_keys` (
	`vendor_id` text NOT NULL,
	`key` text NOT NULL,
	`request_hash` text NOT NULL,
	`status` integer,
	`response_json` text,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`vendor_id`, `key`)
);
--> statement-breakpoint
CREATE TABLE `records` (
	`collector_id` text NOT NULL,
	`seq` integer NOT NULL,
	`contract_id` text NOT NULL,
	`hash` text NOT NULL,
	`kind` text NOT NULL,
	`ts` integer NOT NULL,
	`received_at` integer NOT NULL,
	`quarantine` text,
	`feature` text,
	`user` text,
	`host` text,
	`start` integer,
	`end` integer,
	`count` integer,
	`record_json` text NOT NULL,
	PRIMARY KEY(`collector_id`, `seq`)
);
--> statement-breakpoint
CREATE INDEX `records_contract_start` ON `records` (`contract_id`,`start`);--> statement-breakpoint
CREATE TABLE `vendors` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`created_at` integer NOT NULL
);
