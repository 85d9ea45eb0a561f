CREATE TABLE `status_links` (
	`id` text PRIMARY KEY NOT NULL,
	`vendor_id` text NOT NULL,
	`contract_id` text NOT NULL,
	`token_hash` text NOT NULL,
	`name` text,
	`created_at` integer NOT NULL,
	`revoked_at` integer,
	FOREIGN KEY (`vendor_id`) REFERENCES `vendors`(`id`) ON UPDATE no action ON DELETE no action,
	FOREIGN KEY (`contract_id`) REFERENCES `contracts`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `status_links_token_hash_unique` ON `status_links` (`token_hash`);--> statement-breakpoint
CREATE INDEX `status_links_contract` ON `status_links` (`contract_id`,`id`);--> statement-breakpoint
ALTER TABLE `api_keys` ADD `name` text;--> statement-breakpoint
ALTER TABLE `api_keys` ADD `read_only` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `api_keys_vendor` ON `api_keys` (`vendor_id`,`id`);