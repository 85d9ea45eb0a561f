// Tracing a `draws` statement line (price.ts) to the records that opened its draws: a draws line
// has no unit ranges (its units are priced by the tier lines); it names the draws of its feature
// in its period under its plan version, in (start, record) order, paged like any trace. An
// adjustment of a draws line names those that arrived in the period whose statement carries it.
import { periodStarting } from "../periods.ts";
import type { PricingTerms } from "../terms.ts";
import { versionAt } from "../terms.ts";
import type { RecordRun, TraceCursor } from "./line-trace.ts";
import type { LiveStore } from "./store.ts";

export interface DrawLine { period: number; feature: string; effective_at: number; cutoff: number; lateOnly: boolean }

/** The draws a line id names (`draws:<effective_at>:<feature>` or its `adj:<start_date>:…`), or undefined for another line. */
export function drawLineOf(terms: PricingTerms, lineId: string, statementPeriod: number): DrawLine | undefined {
  const adj = /^adj:(\d{4}-\d{2}-\d{2}):(draws:.*)$/.exec(lineId);
  const own = adj ? adj[2]! : lineId;
  const m = /^draws:(-?\d+):(.*)$/.exec(own);
  if (!m) return undefined;
  const period = adj ? periodStarting(terms.contract, adj[1]!).index : statementPeriod;
  return { period, feature: m[2]!, effective_at: Number(m[1]), cutoff: statementPeriod, lateOnly: adj !== null };
}

export function traceDrawLine(store: LiveStore, terms: PricingTerms, line: DrawLine, cursor: TraceCursor | null, limit: number): { runs: RecordRun[]; next: TraceCursor | null } {
  const runs: RecordRun[] = [];
  let after = cursor?.start != null && cursor.ref != null ? { start: cursor.start, ref: cursor.ref } : null;
  for (const d of store.periodDraws(line.period, line.feature, line.cutoff, after)) {
    if (versionAt(terms, d.start).effective_at !== line.effective_at || (line.lateOnly && d.arrival !== line.cutoff)) { after = d; continue; }
    const at = d.ref.lastIndexOf(":");
    const source = d.ref.slice(0, at), seq = Number(d.ref.slice(at + 1));
    const last = runs[runs.length - 1];
    if (last && last.source === source && (seq === last.last_seq || seq === last.last_seq + 1)) last.last_seq = Math.max(last.last_seq, seq);
    else {
      if (runs.length === limit) return { runs, next: { range: 0, start: after?.start ?? null, ref: after?.ref ?? null, position: "0" } };
      runs.push({ source, first_seq: seq, last_seq: seq });
    }
    after = { start: d.start, ref: d.ref };
  }
  return { runs, next: null };
}
