-- Paging a contract's records without reading those before the cursor: the export seeks
-- (contract_id, collector_id, seq) from its cursor (it sorted each collector's records after the
-- cursor on every page), and the sites list counts quarantined records from an index of those
-- alone (it read every record of each site).
DROP INDEX `records_contract_collector`;--> statement-breakpoint
CREATE INDEX `records_quarantined` ON `records` (`contract_id`,`collector_id`,`quarantine`) WHERE "records"."quarantine" IS NOT NULL;--> statement-breakpoint
CREATE INDEX `records_contract_collector` ON `records` (`contract_id`,`collector_id`,`seq`);