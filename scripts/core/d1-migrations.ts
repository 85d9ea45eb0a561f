// D1 migrations at start: the build's migrations (drizzle/*.sql, split into statements at build
// time) that the data dir's D1 has not applied, each in one batch with its bookkeeping row. The
// bookkeeping is wrangler's own `d1_migrations` table, so `wrangler d1 migrations list --local
// --persist-to DIR` agrees with the core. A D1 that applied a migration this build does not know
// was migrated by a newer Tally: the core refuses to run an older Worker on it.
import type { BuildMigration } from "./build.ts";

export class MigrationError extends Error {}

export async function applyMigrations(db: D1Database, migrations: BuildMigration[]): Promise<{ applied: string[]; known: number }> {
  await db.prepare(`CREATE TABLE IF NOT EXISTS d1_migrations(
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)`).run();
  const done = new Set((await db.prepare("SELECT name FROM d1_migrations ORDER BY id").all<{ name: string }>()).results.map((r) => r.name));
  const ours = new Set(migrations.map((m) => m.name));
  const unknown = [...done].filter((name) => !ours.has(name));
  if (unknown.length > 0) {
    throw new MigrationError(`D1 has migrations this build does not know (${unknown.join(", ")}): the data dir was used by a newer Tally; run that version or newer`);
  }
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.name)) continue;
    // One batch = one transaction: a migration and its bookkeeping row land together or not at all.
    await db.batch([...m.statements.map((s) => db.prepare(s)), db.prepare("INSERT INTO d1_migrations (name) VALUES (?)").bind(m.name)]);
    applied.push(m.name);
  }
  return { applied, known: done.size };
}
