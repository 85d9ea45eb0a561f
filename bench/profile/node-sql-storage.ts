// Bench aid only (not product code): the Durable Object's `SqlStorage` over Node 22's node:sqlite,
// so the ContractDO's apply and rating code runs under `node --cpu-prof` (workerd freezes timers
// while a request runs, so it cannot be profiled there). Counts statements by their text.
import { DatabaseSync, type StatementSync } from "node:sqlite";

export interface NodeSql { sql: SqlStorage; transactionSync<T>(f: () => T): T; counts: Map<string, number>; statements(): number }

export function nodeSqlStorage(path = ":memory:"): NodeSql {
  const db = new DatabaseSync(path);
  const prepared = new Map<string, StatementSync>();
  const counts = new Map<string, number>();
  const exec = (query: string, ...bindings: unknown[]) => {
    counts.set(query, (counts.get(query) ?? 0) + 1);
    let rows: Record<string, unknown>[] = [];
    let written = 0;
    if (bindings.length === 0 && query.includes(";") && query.trim().replace(/;\s*$/, "").includes(";")) {
      db.exec(query);
    } else {
      let st = prepared.get(query);
      if (!st) { st = db.prepare(query); prepared.set(query, st); }
      const args = bindings as never[];
      if (st.columns().length > 0) rows = st.all(...args) as Record<string, unknown>[];
      else written = Number(st.run(...args).changes);
    }
    const cursor = {
      toArray: () => rows,
      one: () => { if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`); return rows[0]; },
      rowsWritten: written,
      rowsRead: rows.length,
      [Symbol.iterator]: () => rows[Symbol.iterator](),
      next: undefined as unknown,
      raw: () => rows.map((r) => Object.values(r))[Symbol.iterator](),
      columnNames: rows[0] ? Object.keys(rows[0]) : [],
    };
    return cursor;
  };
  const sql = { exec, get databaseSize() { return 0; } } as unknown as SqlStorage;
  let depth = 0;
  const transactionSync = <T>(f: () => T): T => {
    const sp = `sp${depth++}`;
    db.exec(`SAVEPOINT ${sp}`);
    try { const r = f(); db.exec(`RELEASE ${sp}`); return r; } catch (e) { db.exec(`ROLLBACK TO ${sp}`); db.exec(`RELEASE ${sp}`); throw e; } finally { depth--; }
  };
  return { sql, transactionSync, counts, statements: () => [...counts.values()].reduce((a, b) => a + b, 0) };
}
