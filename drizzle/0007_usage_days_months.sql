-- Daily and monthly usage history (usage_days, usage_months): GET …/usage read every hourly
-- rollup row of its range on each request and each page (two years grouped by feature: ~17,500
-- hours × every combination). The coarse tables are the sums of usage_rollups per local day (its
-- `day`, the contract's zone) and local month, kept so by the triggers below — every writer of the
-- hourly rows (drain, re-rating, superseded forks, the reconciler's repairs) moves them in the same
-- statement. Units are kept as sums of the hourly rows' 9-digit limbs (usage-report.ts), so they
-- stay exact in 64-bit integers.
--
-- The hourly rows already stored are not summed here: D1 refuses a query that runs over 30 s, and
-- one statement over every contract's history grows with it (2M hourly rows took 12.2 s, 5M would
-- not fit). Each contract with hourly rows gets a row in usage_coarse_backfill instead: its hourly
-- rows before `next_hour` are in the coarse tables, the rest not yet. The triggers act only on rows
-- before it, and the ContractDO's alarm sums the rest in pages of bounded size, each page one D1
-- batch that moves `next_hour` past it (worker/usage-coarse-backfill.ts); the last page deletes the
-- row. Until then GET …/usage reads that contract from the hourly rows alone. A contract without a
-- row (every contract created after this migration) is whole.
CREATE TABLE `usage_days` (
	`contract_id` text NOT NULL,
	`day` text NOT NULL,
	`collector_id` text NOT NULL,
	`feature` text NOT NULL,
	`product` text NOT NULL,
	`user` text NOT NULL,
	`host` text NOT NULL,
	`license_s` integer NOT NULL,
	`u0` integer NOT NULL,
	`u1` integer NOT NULL,
	`u2` integer NOT NULL,
	`u3` integer NOT NULL,
	`u4` integer NOT NULL,
	`u5` integer NOT NULL,
	`u6` integer NOT NULL,
	`u7` integer NOT NULL,
	`sessions` integer NOT NULL,
	`denials` integer NOT NULL,
	`draws` integer NOT NULL,
	`hours` integer NOT NULL,
	PRIMARY KEY(`contract_id`, `day`, `collector_id`, `feature`, `product`, `user`, `host`)
);
--> statement-breakpoint
CREATE TABLE `usage_months` (
	`contract_id` text NOT NULL,
	`month` text NOT NULL,
	`collector_id` text NOT NULL,
	`feature` text NOT NULL,
	`product` text NOT NULL,
	`user` text NOT NULL,
	`host` text NOT NULL,
	`license_s` integer NOT NULL,
	`u0` integer NOT NULL,
	`u1` integer NOT NULL,
	`u2` integer NOT NULL,
	`u3` integer NOT NULL,
	`u4` integer NOT NULL,
	`u5` integer NOT NULL,
	`u6` integer NOT NULL,
	`u7` integer NOT NULL,
	`sessions` integer NOT NULL,
	`denials` integer NOT NULL,
	`draws` integer NOT NULL,
	`hours` integer NOT NULL,
	PRIMARY KEY(`contract_id`, `month`, `collector_id`, `feature`, `product`, `user`, `host`)
);
--> statement-breakpoint
CREATE TABLE `usage_coarse_backfill` (
	`contract_id` text PRIMARY KEY NOT NULL,
	`next_hour` integer NOT NULL
);
--> statement-breakpoint
INSERT INTO usage_coarse_backfill (contract_id, next_hour) SELECT DISTINCT contract_id, 0 FROM usage_rollups;
--> statement-breakpoint
CREATE TRIGGER usage_rollups_days_insert AFTER INSERT ON usage_rollups WHEN NOT EXISTS (SELECT 1 FROM usage_coarse_backfill b WHERE b.contract_id = NEW.contract_id AND b.next_hour <= NEW.hour) BEGIN
  INSERT INTO usage_days (contract_id, day, collector_id, feature, product, user, host, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
    VALUES (NEW.contract_id, NEW.day, NEW.collector_id, NEW.feature, NEW.product, NEW.user, NEW.host, NEW.license_s,
      CAST(substr(NEW.units_num, -9, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -18, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -27, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -36, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -45, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -54, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -63, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -72, 9) AS INTEGER), NEW.sessions, NEW.denials, NEW.draws, 1)
    ON CONFLICT (contract_id, day, collector_id, feature, product, user, host) DO UPDATE SET license_s = license_s + excluded.license_s,
      u0 = u0 + excluded.u0, u1 = u1 + excluded.u1, u2 = u2 + excluded.u2, u3 = u3 + excluded.u3, u4 = u4 + excluded.u4, u5 = u5 + excluded.u5, u6 = u6 + excluded.u6, u7 = u7 + excluded.u7,
      sessions = sessions + excluded.sessions, denials = denials + excluded.denials, draws = draws + excluded.draws, hours = hours + 1;
  INSERT INTO usage_months (contract_id, month, collector_id, feature, product, user, host, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
    VALUES (NEW.contract_id, substr(NEW.day, 1, 7), NEW.collector_id, NEW.feature, NEW.product, NEW.user, NEW.host, NEW.license_s,
      CAST(substr(NEW.units_num, -9, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -18, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -27, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -36, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -45, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -54, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -63, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -72, 9) AS INTEGER), NEW.sessions, NEW.denials, NEW.draws, 1)
    ON CONFLICT (contract_id, month, collector_id, feature, product, user, host) DO UPDATE SET license_s = license_s + excluded.license_s,
      u0 = u0 + excluded.u0, u1 = u1 + excluded.u1, u2 = u2 + excluded.u2, u3 = u3 + excluded.u3, u4 = u4 + excluded.u4, u5 = u5 + excluded.u5, u6 = u6 + excluded.u6, u7 = u7 + excluded.u7,
      sessions = sessions + excluded.sessions, denials = denials + excluded.denials, draws = draws + excluded.draws, hours = hours + 1;
END;
--> statement-breakpoint
-- An update is two triggers: the old row leaves the sums if they held it, the new one joins them if they cover it.
CREATE TRIGGER usage_rollups_days_update_old AFTER UPDATE ON usage_rollups WHEN NOT EXISTS (SELECT 1 FROM usage_coarse_backfill b WHERE b.contract_id = OLD.contract_id AND b.next_hour <= OLD.hour) BEGIN
  UPDATE usage_days SET license_s = license_s - OLD.license_s,
      u0 = u0 - CAST(substr(OLD.units_num, -9, 9) AS INTEGER),
      u1 = u1 - CAST(substr(OLD.units_num, -18, 9) AS INTEGER),
      u2 = u2 - CAST(substr(OLD.units_num, -27, 9) AS INTEGER),
      u3 = u3 - CAST(substr(OLD.units_num, -36, 9) AS INTEGER),
      u4 = u4 - CAST(substr(OLD.units_num, -45, 9) AS INTEGER),
      u5 = u5 - CAST(substr(OLD.units_num, -54, 9) AS INTEGER),
      u6 = u6 - CAST(substr(OLD.units_num, -63, 9) AS INTEGER),
      u7 = u7 - CAST(substr(OLD.units_num, -72, 9) AS INTEGER),
      sessions = sessions - OLD.sessions, denials = denials - OLD.denials, draws = draws - OLD.draws, hours = hours - 1
    WHERE contract_id = OLD.contract_id AND day = OLD.day AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host;
  DELETE FROM usage_days WHERE contract_id = OLD.contract_id AND day = OLD.day AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host AND hours <= 0;
  UPDATE usage_months SET license_s = license_s - OLD.license_s,
      u0 = u0 - CAST(substr(OLD.units_num, -9, 9) AS INTEGER),
      u1 = u1 - CAST(substr(OLD.units_num, -18, 9) AS INTEGER),
      u2 = u2 - CAST(substr(OLD.units_num, -27, 9) AS INTEGER),
      u3 = u3 - CAST(substr(OLD.units_num, -36, 9) AS INTEGER),
      u4 = u4 - CAST(substr(OLD.units_num, -45, 9) AS INTEGER),
      u5 = u5 - CAST(substr(OLD.units_num, -54, 9) AS INTEGER),
      u6 = u6 - CAST(substr(OLD.units_num, -63, 9) AS INTEGER),
      u7 = u7 - CAST(substr(OLD.units_num, -72, 9) AS INTEGER),
      sessions = sessions - OLD.sessions, denials = denials - OLD.denials, draws = draws - OLD.draws, hours = hours - 1
    WHERE contract_id = OLD.contract_id AND month = substr(OLD.day, 1, 7) AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host;
  DELETE FROM usage_months WHERE contract_id = OLD.contract_id AND month = substr(OLD.day, 1, 7) AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host AND hours <= 0;
END;
--> statement-breakpoint
CREATE TRIGGER usage_rollups_days_update_new AFTER UPDATE ON usage_rollups WHEN NOT EXISTS (SELECT 1 FROM usage_coarse_backfill b WHERE b.contract_id = NEW.contract_id AND b.next_hour <= NEW.hour) BEGIN
  INSERT INTO usage_days (contract_id, day, collector_id, feature, product, user, host, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
    VALUES (NEW.contract_id, NEW.day, NEW.collector_id, NEW.feature, NEW.product, NEW.user, NEW.host, NEW.license_s,
      CAST(substr(NEW.units_num, -9, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -18, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -27, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -36, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -45, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -54, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -63, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -72, 9) AS INTEGER), NEW.sessions, NEW.denials, NEW.draws, 1)
    ON CONFLICT (contract_id, day, collector_id, feature, product, user, host) DO UPDATE SET license_s = license_s + excluded.license_s,
      u0 = u0 + excluded.u0, u1 = u1 + excluded.u1, u2 = u2 + excluded.u2, u3 = u3 + excluded.u3, u4 = u4 + excluded.u4, u5 = u5 + excluded.u5, u6 = u6 + excluded.u6, u7 = u7 + excluded.u7,
      sessions = sessions + excluded.sessions, denials = denials + excluded.denials, draws = draws + excluded.draws, hours = hours + 1;
  INSERT INTO usage_months (contract_id, month, collector_id, feature, product, user, host, license_s, u0, u1, u2, u3, u4, u5, u6, u7, sessions, denials, draws, hours)
    VALUES (NEW.contract_id, substr(NEW.day, 1, 7), NEW.collector_id, NEW.feature, NEW.product, NEW.user, NEW.host, NEW.license_s,
      CAST(substr(NEW.units_num, -9, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -18, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -27, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -36, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -45, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -54, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -63, 9) AS INTEGER),
      CAST(substr(NEW.units_num, -72, 9) AS INTEGER), NEW.sessions, NEW.denials, NEW.draws, 1)
    ON CONFLICT (contract_id, month, collector_id, feature, product, user, host) DO UPDATE SET license_s = license_s + excluded.license_s,
      u0 = u0 + excluded.u0, u1 = u1 + excluded.u1, u2 = u2 + excluded.u2, u3 = u3 + excluded.u3, u4 = u4 + excluded.u4, u5 = u5 + excluded.u5, u6 = u6 + excluded.u6, u7 = u7 + excluded.u7,
      sessions = sessions + excluded.sessions, denials = denials + excluded.denials, draws = draws + excluded.draws, hours = hours + 1;
END;
--> statement-breakpoint
CREATE TRIGGER usage_rollups_days_delete AFTER DELETE ON usage_rollups WHEN NOT EXISTS (SELECT 1 FROM usage_coarse_backfill b WHERE b.contract_id = OLD.contract_id AND b.next_hour <= OLD.hour) BEGIN
  UPDATE usage_days SET license_s = license_s - OLD.license_s,
      u0 = u0 - CAST(substr(OLD.units_num, -9, 9) AS INTEGER),
      u1 = u1 - CAST(substr(OLD.units_num, -18, 9) AS INTEGER),
      u2 = u2 - CAST(substr(OLD.units_num, -27, 9) AS INTEGER),
      u3 = u3 - CAST(substr(OLD.units_num, -36, 9) AS INTEGER),
      u4 = u4 - CAST(substr(OLD.units_num, -45, 9) AS INTEGER),
      u5 = u5 - CAST(substr(OLD.units_num, -54, 9) AS INTEGER),
      u6 = u6 - CAST(substr(OLD.units_num, -63, 9) AS INTEGER),
      u7 = u7 - CAST(substr(OLD.units_num, -72, 9) AS INTEGER),
      sessions = sessions - OLD.sessions, denials = denials - OLD.denials, draws = draws - OLD.draws, hours = hours - 1
    WHERE contract_id = OLD.contract_id AND day = OLD.day AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host;
  DELETE FROM usage_days WHERE contract_id = OLD.contract_id AND day = OLD.day AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host AND hours <= 0;
  UPDATE usage_months SET license_s = license_s - OLD.license_s,
      u0 = u0 - CAST(substr(OLD.units_num, -9, 9) AS INTEGER),
      u1 = u1 - CAST(substr(OLD.units_num, -18, 9) AS INTEGER),
      u2 = u2 - CAST(substr(OLD.units_num, -27, 9) AS INTEGER),
      u3 = u3 - CAST(substr(OLD.units_num, -36, 9) AS INTEGER),
      u4 = u4 - CAST(substr(OLD.units_num, -45, 9) AS INTEGER),
      u5 = u5 - CAST(substr(OLD.units_num, -54, 9) AS INTEGER),
      u6 = u6 - CAST(substr(OLD.units_num, -63, 9) AS INTEGER),
      u7 = u7 - CAST(substr(OLD.units_num, -72, 9) AS INTEGER),
      sessions = sessions - OLD.sessions, denials = denials - OLD.denials, draws = draws - OLD.draws, hours = hours - 1
    WHERE contract_id = OLD.contract_id AND month = substr(OLD.day, 1, 7) AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host;
  DELETE FROM usage_months WHERE contract_id = OLD.contract_id AND month = substr(OLD.day, 1, 7) AND collector_id = OLD.collector_id AND feature = OLD.feature
      AND product = OLD.product AND user = OLD.user AND host = OLD.host AND hours <= 0;
END;
