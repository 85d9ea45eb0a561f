-- Draws in the usage history (issue 15): the draws each record opened and their hourly sums.
-- Existing rows hold 0: no plan could draw before this.
ALTER TABLE `usage_facts` ADD `draws` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage_rollups` ADD `draws` integer DEFAULT 0 NOT NULL;