// The contracts list: every contract's consumption at a glance, most urgent first (urgency.ts); a
// vendor with more contracts than a page holds (routes.ts CONTRACTS_PER_PAGE) pages through them.
// The remaining bar is a <meter> with the figures also written out, so it reads without colour.
import { formatScaled, parseScaled } from "../../../shared/decimal/decimal.ts";
import { escapeHtml, timeTag } from "../../pages/layout.ts";
import { licenseTime } from "../../pages/status-page.ts";
import { byUrgency, glanceStatus, type ContractGlance } from "../urgency.ts";
import { badge, groupDigits, renderConsolePage } from "./shell.ts";

export interface ContractListRow extends ContractGlance {
  id: string;
  customer: string;
  model: string;
  unit_name: string;
  period_start_date: string | null;
  /** This period's units, or null while the edge does not price yet. */
  usage_units: string | null;
  license_seconds: number;
  last_sync: string | null;
  /** False when the balance could not be read (the row shows what the contract says). */
  live: boolean;
}

/** Where a page of the list stands: its size, whether it is the first, the cursor after it. */
export interface ListPaging { limit: number; first: boolean; next: string | null }

export function renderContractList(rows: ContractListRow[], csrf: string, notice?: string, paging: ListPaging = { limit: rows.length, first: true, next: null }): string {
  const sorted = [...rows].sort(byUrgency);
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(glanceStatus(r), (counts.get(glanceStatus(r)) ?? 0) + 1);
  const summary = ["blocked", "exhausted", "low", "stale", "ok"].filter((s) => counts.has(s))
    .map((s) => `${badge(s)} ${counts.get(s)}`).join(" · ");
  const paged = !paging.first || paging.next !== null;
  const size = `limit=${paging.limit}`;
  const nav = !paged ? "" : `<nav aria-label="Pages of contracts"><p>${paging.first ? "" : `<a href="/console?${size}">First page</a> `}`
    + `${paging.next ? `<a href="/console?${size}&amp;after=${encodeURIComponent(paging.next)}">Next ${paging.limit} contracts</a>` : ""}</p></nav>`;
  const body = sorted.length === 0 ? (paging.first ? `<p>No contracts yet. Create one with <code>POST /v1/contracts</code> (see <a href="/docs">the API reference</a>).</p>` : `<p>No more contracts.</p>${nav}`)
    : `<p>${sorted.length} contract${sorted.length === 1 ? "" : "s"}${paged ? " on this page, most urgent first within it" : ""}: ${summary}</p>${nav}
<div class="wide"><table class="stack">
<caption>Contracts, most urgent first (blocked, exhausted, low, stale, then ok; then by the share of units left)</caption>
<thead><tr><th scope="col">Customer</th><th scope="col">Model</th><th scope="col">Remaining</th><th scope="col" class="num">This period</th><th scope="col">Status</th><th scope="col">Last sync</th></tr></thead>
<tbody>${sorted.map(row).join("")}</tbody></table></div>${nav}`;
  return renderConsolePage({ title: "Contracts", csrf }, `<h1>Contracts</h1>${notice ? `<p class="notice" role="status">${escapeHtml(notice)}</p>` : ""}${body}`);
}

function row(r: ContractListRow): string {
  const unit = escapeHtml(r.unit_name);
  const remaining = r.remaining_units === null || r.granted_units === null ? `<span class="muted">no grant</span>`
    : `${meter(r.remaining_units, r.granted_units, `remaining-${r.id}`)}<span id="remaining-${escapeHtml(r.id)}">${escapeHtml(groupDigits(r.remaining_units))} of ${escapeHtml(groupDigits(r.granted_units))} ${unit}s</span>`;
  const usage = r.usage_units !== null ? `${escapeHtml(groupDigits(r.usage_units))} ${unit}s` : licenseTime(r.license_seconds);
  const status = r.live ? badge(glanceStatus(r)) + (r.stale && glanceStatus(r) !== "stale" ? ` ${badge("stale")}` : "") : `<span class="muted">unavailable</span>`;
  return `<tr><th scope="row"><a href="/console/contracts/${escapeHtml(r.id)}">${escapeHtml(r.customer)}</a><br><span class="muted"><code>${escapeHtml(r.id)}</code></span></th>`
    + `<td data-label="Model">${escapeHtml(r.model)}</td><td data-label="Remaining">${remaining}</td><td data-label="This period" class="num">${usage}</td>`
    + `<td data-label="Status">${status}</td><td data-label="Last sync">${r.last_sync ? timeTag(r.last_sync) : `<span class="muted">never</span>`}</td></tr>`;
}

/** A meter needs max > 0; low/high make the browser colour it (the text says the same). */
export function meter(value: string, max: string, labelledBy: string): string {
  if (/^0+(\.0+)?$/.test(max)) return "";
  return `<meter min="0" max="${escapeHtml(max)}" value="${escapeHtml(value)}" low="${lowMark(max)}" high="${escapeHtml(max)}" optimum="${escapeHtml(max)}" aria-labelledby="${escapeHtml(labelledBy)}"></meter> `;
}

/** 20 % of max, as decimal text (the API's default low threshold). */
function lowMark(max: string): string {
  return formatScaled(parseScaled(max, 12) * 2n, 13);
}
