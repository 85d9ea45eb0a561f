// workerd keeps a Durable Object's alarm twice: in the object's own database (`_cf_METADATA`,
// key 1: the time in ns) and in its namespace's index (`metadata.sqlite`, table `_cf_ALARM`),
// which is what workerd reads at start to know which objects to wake. A backup pins the index
// and the objects one after another while alarms still fire, so a restored index may miss an
// alarm an object had set after the index was pinned: restore re-adds it from the object itself
// (an index entry for an alarm the object no longer has only wakes it for nothing). These are
// workerd's internal tables: a layout this code does not recognise is reported, not guessed at.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

const ALARM_KEY = 1;

export interface AlarmRepair { namespaces: number; objects: number; added: number; unrecognised: string[] }

export function repairAlarmIndex(storage: string): AlarmRepair {
  const report: AlarmRepair = { namespaces: 0, objects: 0, added: 0, unrecognised: [] };
  const base = join(storage, "do");
  if (!existsSync(base)) return report;
  for (const namespace of readdirSync(base, { withFileTypes: true })) {
    if (!namespace.isDirectory()) continue;
    const dir = join(base, namespace.name);
    const objects = readdirSync(dir).filter((f) => /^[0-9a-f]{64}\.sqlite$/.test(f));
    if (objects.length === 0) continue;
    report.namespaces++;
    const index = new DatabaseSync(join(dir, "metadata.sqlite"), { readBigInts: true });
    try {
      index.exec("CREATE TABLE IF NOT EXISTS _cf_ALARM (actor_id TEXT PRIMARY KEY, scheduled_time INTEGER, actor_name TEXT) WITHOUT ROWID");
      const columns = (index.prepare("PRAGMA table_info(_cf_ALARM)").all() as Array<{ name: string }>).map((c) => c.name).join(",");
      if (columns !== "actor_id,scheduled_time,actor_name") {
        report.unrecognised.push(`${namespace.name}/metadata.sqlite: _cf_ALARM(${columns})`);
        continue;
      }
      const known = index.prepare("SELECT 1 FROM _cf_ALARM WHERE actor_id = ?");
      const add = index.prepare("INSERT INTO _cf_ALARM (actor_id, scheduled_time, actor_name) VALUES (?, ?, NULL)");
      // One transaction for the namespace: a commit per object (a journal written and synced each
      // time) made a restore of 2,000 contracts spend ~30 s here. A failure rolls it all back.
      index.exec("BEGIN");
      for (const file of objects) {
        report.objects++;
        const actor = file.slice(0, -".sqlite".length);
        const db = new DatabaseSync(join(dir, file), { readBigInts: true });
        try {
          const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE name = '_cf_METADATA'").get();
          if (!hasMeta) continue;
          const alarm = db.prepare("SELECT value FROM _cf_METADATA WHERE key = ?").get(ALARM_KEY) as { value: bigint | null } | undefined;
          if (alarm?.value == null || known.get(actor)) continue;
          add.run(actor, alarm.value);
          report.added++;
        } finally {
          db.close();
        }
      }
      index.exec("COMMIT");
    } finally {
      if (index.isTransaction) index.exec("ROLLBACK");
      index.close();
    }
  }
  return report;
}
