// The size of what a Durable Object stores, measured: Cloudflare refuses a row or value over 2 MB in
// production, which local workerd does not enforce (tests assert it with this).

/** Every column's longest value, over every table of the DO. */
export function largestValue(sql: SqlStorage): { table: string; column: string; bytes: number } {
  let best = { table: "", column: "", bytes: 0 };
  for (const { name } of sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'").toArray()) {
    for (const { name: column } of sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${name}')`).toArray()) {
      const bytes = sql.exec<{ n: number | null }>(`SELECT max(length(CAST("${column}" AS BLOB))) AS n FROM "${name}"`).one().n ?? 0;
      if (bytes > best.bytes) best = { table: name, column, bytes };
    }
  }
  return best;
}
