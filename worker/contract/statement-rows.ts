// Closed statements as rows (DESIGN.md §6 "Statement lines are rows"): a header per period, one
// row per line, each line's unit ranges for tracing it to records, and what each closed period's
// statements carried per line (its own lines plus later adjustments to it). No value here grows
// with the records behind a statement; a frozen statement reads back byte for byte.
import type { LineValue, PricedLine, Statement, StatementLine } from "../../shared/pricing/index.ts";

type Row = Record<string, SqlStorageValue>;
interface LineRow { position: number; id: string; kind: string; description: string; feature: string | null; tier: number | null; quantity: string; unit_price: string | null; amount: string; ref_period: string | null }

function rows<T>(sql: SqlStorage, query: string, ...args: SqlStorageValue[]): T[] {
  return sql.exec<T & Row>(query, ...args).toArray() as T[];
}

export function lastFrozen(sql: SqlStorage): number {
  return sql.exec<{ p: number | null }>("SELECT max(period_index) AS p FROM frozen_statements").one().p ?? -1;
}

export function frozenStatement(sql: SqlStorage, index: number): Statement | undefined {
  const h = rows<{ period_start: string; period_end: string; start_date: string; currency: string; total: string }>(sql,
    "SELECT period_start, period_end, start_date, currency, total FROM frozen_statements WHERE period_index = ?", index)[0];
  if (!h) return undefined;
  const lines = rows<LineRow>(sql, "SELECT * FROM statement_lines WHERE period_index = ? ORDER BY position", index).map((l): StatementLine => ({
    id: l.id, kind: l.kind as StatementLine["kind"], description: l.description,
    ...(l.feature !== null ? { feature: l.feature } : {}), ...(l.tier !== null ? { tier: l.tier } : {}),
    quantity: l.quantity, ...(l.unit_price !== null ? { unit_price: l.unit_price } : {}), amount: l.amount,
    ...(l.ref_period !== null ? { ref_period: l.ref_period } : {}),
  }));
  return { period: { start: h.period_start, end: h.period_end, start_date: h.start_date }, state: "closed", currency: h.currency, lines, total: h.total };
}

export function saveFrozen(sql: SqlStorage, index: number, s: Statement, priced: PricedLine[], at: number): void {
  sql.exec("INSERT INTO frozen_statements (period_index, start_date, period_start, period_end, currency, total, frozen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    index, s.period.start_date, s.period.start, s.period.end, s.currency, s.total, at);
  s.lines.forEach((l, position) => {
    sql.exec("INSERT INTO statement_lines (period_index, position, id, kind, description, feature, tier, quantity, unit_price, amount, ref_period) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      index, position, l.id, l.kind, l.description, l.feature ?? null, l.tier ?? null, l.quantity, l.unit_price ?? null, l.amount, l.ref_period ?? null);
    priced[position]!.ranges.forEach((r, i) => sql.exec(
      "INSERT INTO line_ranges (period_index, line_position, position, segment, from_units, to_units) VALUES (?, ?, ?, ?, ?, ?)",
      index, position, i, r.segment, r.from.toString(), r.to.toString()));
  });
}

export function frozenLine(sql: SqlStorage, index: number, lineId: string): Pick<PricedLine, "kind" | "ranges"> | undefined {
  const l = rows<{ position: number; kind: string }>(sql, "SELECT position, kind FROM statement_lines WHERE period_index = ? AND id = ?", index, lineId)[0];
  if (!l) return undefined;
  const ranges = rows<{ segment: number; from_units: string; to_units: string }>(sql,
    "SELECT segment, from_units, to_units FROM line_ranges WHERE period_index = ? AND line_position = ? ORDER BY position", index, l.position,
  ).map((r) => ({ segment: r.segment, from: BigInt(r.from_units), to: BigInt(r.to_units) }));
  return { kind: l.kind as PricedLine["kind"], ranges };
}

export function carried(sql: SqlStorage, period: number): Map<string, LineValue> {
  const out = new Map<string, LineValue>();
  for (const r of rows<{ id: string; quantity_micro: string; amount_minor: string; description: string; tier: number | null; unit_price: string | null }>(sql,
    "SELECT id, quantity_micro, amount_minor, description, tier, unit_price FROM carried_lines WHERE period_index = ? ORDER BY position", period)) {
    out.set(r.id, {
      quantity_micro: BigInt(r.quantity_micro), amount_minor: BigInt(r.amount_minor),
      line: { description: r.description, ...(r.tier !== null ? { tier: r.tier } : {}), ...(r.unit_price !== null ? { unit_price: r.unit_price } : {}) },
    });
  }
  return out;
}

/** Adds a line's values to what `period`'s statements carried, appending a line not seen before. */
export function addCarried(sql: SqlStorage, period: number, lineId: string, v: LineValue): void {
  const old = rows<{ quantity_micro: string; amount_minor: string }>(sql, "SELECT quantity_micro, amount_minor FROM carried_lines WHERE period_index = ? AND id = ?", period, lineId)[0];
  if (old) {
    sql.exec("UPDATE carried_lines SET quantity_micro = ?, amount_minor = ? WHERE period_index = ? AND id = ?",
      (BigInt(old.quantity_micro) + v.quantity_micro).toString(), (BigInt(old.amount_minor) + v.amount_minor).toString(), period, lineId);
    return;
  }
  sql.exec(`INSERT INTO carried_lines (period_index, position, id, quantity_micro, amount_minor, description, tier, unit_price)
    VALUES (?, coalesce((SELECT max(position) + 1 FROM carried_lines WHERE period_index = ?), 0), ?, ?, ?, ?, ?, ?)`,
  period, period, lineId, v.quantity_micro.toString(), v.amount_minor.toString(), v.line.description, v.line.tier ?? null, v.line.unit_price ?? null);
}
