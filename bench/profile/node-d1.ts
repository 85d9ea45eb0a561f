// Bench aid only (not product code): a D1Database over Node 22's node:sqlite with the project's
// migrations applied, so the outbox drain (outbox.ts, rollup-drain.ts) runs under `node --cpu-prof`
// beside the apply path. prepare/bind/all/raw/run/first and batch (one transaction), as drizzle uses them.
import { readdirSync, readFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath } from "node:url";

const MIGRATIONS = fileURLToPath(new URL("../../drizzle/", import.meta.url));

/** The D1 binding, and the ms spent in each statement (by its first 110 characters). */
export function nodeD1(path = ":memory:"): { d1: D1Database; timings: Map<string, number> } {
  const timings = new Map<string, number>();
  // Foreign keys off: the profile has no vendors, customers or contracts rows in D1.
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: false });
  for (const file of readdirSync(MIGRATIONS).filter((f) => f.endsWith(".sql")).sort()) {
    for (const part of readFileSync(MIGRATIONS + file, "utf8").split("--> statement-breakpoint")) if (part.trim()) db.exec(part);
  }
  const cache = new Map<string, ReturnType<DatabaseSync["prepare"]>>();
  const prepared = (q: string) => { let s = cache.get(q); if (!s) { s = db.prepare(q); cache.set(q, s); } return s; };
  const meta = (changes = 0) => ({ duration: 0, changes, last_row_id: 0, changed_db: changes > 0, size_after: 0, rows_read: 0, rows_written: changes });
  const statement = (q: string, args: unknown[] = []): D1PreparedStatement => {
    const exec = () => {
      const t0 = performance.now();
      try { return execInner(); } finally { const k = q.replace(/\s+/g, " ").slice(0, 110); timings.set(k, (timings.get(k) ?? 0) + performance.now() - t0); }
    };
    const execInner = () => {
      const s = prepared(q);
      const params = args.map((a) => (typeof a === "boolean" ? Number(a) : a)) as never[];
      if (s.columns().length > 0) return { results: s.all(...params) as Record<string, unknown>[], changes: 0 };
      return { results: [] as Record<string, unknown>[], changes: Number(s.run(...params).changes) };
    };
    const self = {
      bind: (...values: unknown[]) => statement(q, values),
      all: async () => { const r = exec(); return { results: r.results, success: true, meta: meta(r.changes) }; },
      run: async () => { const r = exec(); return { results: r.results, success: true, meta: meta(r.changes) }; },
      raw: async () => exec().results.map((r) => Object.values(r)),
      first: async (column?: string) => { const row = exec().results[0]; return row === undefined ? null : column ? row[column] : row; },
      __exec: exec,
    };
    return self as unknown as D1PreparedStatement;
  };
  const d1 = {
    prepare: (q: string) => statement(q),
    batch: async (stmts: D1PreparedStatement[]) => {
      db.exec("BEGIN");
      try {
        const out = stmts.map((s) => { const r = (s as unknown as { __exec: () => { results: unknown[]; changes: number } }).__exec(); return { results: r.results, success: true, meta: meta(r.changes) }; });
        db.exec("COMMIT");
        return out;
      } catch (error) { db.exec("ROLLBACK"); throw error; }
    },
    exec: async (q: string) => { db.exec(q); return { count: 1, duration: 0 }; },
  } as unknown as D1Database;
  return { d1, timings };
}
