// A statement as CSV (DESIGN.md §7, `Accept: text/csv`): the JSON line columns in order, RFC 4180
// quoting (a field with a comma, quote, CR or LF is quoted, quotes doubled), CRLF line ends, and
// a final row `total` whose amount is the statement total. Feature names come from the sites'
// license servers, so a text cell that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab,
// CR first) gets a leading `'` (OWASP's CSV injection advice); numbers are ours and stay as they are.
import type { PublicStatement } from "./contract/billing-requests.ts";

export const CSV_COLUMNS = ["id", "kind", "description", "feature", "tier", "quantity", "unit_price", "amount", "ref_period"] as const;
/** Columns whose text may come from outside (a site's feature names): never a formula. */
const TEXT_COLUMNS: ReadonlySet<string> = new Set(["description", "feature"]);

function field(value: string | number | undefined, text = false): string {
  let cell = value === undefined ? "" : String(value);
  if (text && /^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
  return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

export function statementCsv(s: PublicStatement): string {
  const rows = [CSV_COLUMNS.join(",")];
  for (const line of s.lines) rows.push(CSV_COLUMNS.map((c) => field(line[c], TEXT_COLUMNS.has(c))).join(","));
  rows.push(["total", "total", `Total ${s.period.start_date} (${s.state})`, "", "", "", "", s.total, ""].map((v) => field(v)).join(","));
  return rows.join("\r\n") + "\r\n";
}

/** Whether `Accept` ranks text/csv above application/json (absent ranges count 0). */
export function prefersCsv(accept: string | undefined): boolean {
  const q = (type: string) => {
    for (const part of (accept ?? "").toLowerCase().split(",")) {
      const [range = "", ...params] = part.trim().split(";");
      if (range.trim() !== type) continue;
      const qp = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
      const v = qp ? Number(qp.slice(2)) : 1;
      return Number.isFinite(v) ? v : 0;
    }
    return 0;
  };
  return q("text/csv") > q("application/json");
}
