// One contract: its figures, consumption over time (chart + the same data as a table), usage by
// feature, user and site, grants with their burn-down forecast, sites and their flags, the open
// statement with its CSV, and the forms (contract-forms.ts). Parts the edge could not answer say
// so in place (contract-view.ts).
import { escapeHtml, timeTag } from "../../pages/layout.ts";
import { licenseTime } from "../../pages/status-page.ts";
import { forecastGrants, unitsPerDay } from "../forecast.ts";
import { consumptionChart } from "../consumption-chart.ts";
import { RATE_DAYS, type ContractView, type UsageRow } from "../contract-view.ts";
import { glanceStatus } from "../urgency.ts";
import { meter } from "./contract-list.ts";
import { renderForms, type FormOutcome } from "./contract-forms.ts";
import { badge, groupDigits, renderConsolePage } from "./shell.ts";

const unavailable = (what: string) => `<p class="muted">${what} is not available from this edge yet.</p>`;

export function renderContractPage(v: ContractView, csrf: string, outcome: FormOutcome & { notice?: string } = {}): string {
  const b = v.balance;
  const unit = String(b?.unit_name ?? v.contract.plan.unit_name ?? "unit");
  const title = `${v.customer} · ${v.contract.id}`;
  const crumbs = `<a href="/console">Contracts</a> › ${escapeHtml(v.customer)}`;
  return renderConsolePage({ title, csrf, crumbs }, `
<h1>${escapeHtml(v.customer)} <span class="muted"><code>${escapeHtml(v.contract.id)}</code></span></h1>
${outcome.notice ? `<p class="notice" role="status">${escapeHtml(outcome.notice)}</p>` : ""}
${figures(v, unit)}
<section aria-labelledby="consumption-h"><h2 id="consumption-h">Consumption over time</h2>${consumption(v, unit)}</section>
<section aria-labelledby="usage-h"><h2 id="usage-h">Usage this period</h2><div class="grid2">
${usageTable("By feature", "feature", v.byFeature, unit)}${usageTable("By user", "user", v.byUser, unit)}${usageTable("By site", "site", siteNames(v), unit)}</div></section>
<section aria-labelledby="grants-h"><h2 id="grants-h">Grants</h2>${grants(v, unit)}</section>
<section aria-labelledby="sites-h"><h2 id="sites-h">Sites</h2>${sites(v)}</section>
<section aria-labelledby="enforcement-h"><h2 id="enforcement-h">Site-side enforcement</h2>${enforcement(v)}</section>
<section aria-labelledby="statement-h"><h2 id="statement-h">Current statement</h2>${statement(v)}</section>
<section aria-labelledby="actions-h"><h2 id="actions-h">Actions</h2>${renderForms(v.contract.id, v.contract.plan, unit, v.contract.timezone, csrf, outcome)}</section>
<section aria-labelledby="links-h"><h2 id="links-h">Status links</h2>${statusLinks(v)}</section>`);
}

function figures(v: ContractView, unit: string): string {
  const b = v.balance;
  if (!b) return unavailable("The live balance");
  const status = glanceStatus({ status: b.status ?? null, stale: b.stale === true, remaining_units: b.remaining_units ?? null, granted_units: b.granted_units ?? null });
  const remaining = typeof b.remaining_units === "string" && typeof b.granted_units === "string"
    ? `<span id="fig-remaining">${escapeHtml(groupDigits(b.remaining_units))}</span> <span class="muted">of ${escapeHtml(groupDigits(b.granted_units))}</span><br>${meter(b.remaining_units, b.granted_units, "fig-remaining-label")}`
    : `<span id="fig-remaining">no grant</span>`;
  const used = typeof b.usage?.units === "string" ? `${groupDigits(b.usage.units)} ${unit}s` : licenseTime(b.usage?.license_seconds ?? 0);
  const cell = (label: string, value: string, id?: string) => `<div><dt${id ? ` id="${id}"` : ""}>${label}</dt><dd>${value}</dd></div>`;
  return `<dl class="figures">
${cell("Status", badge(status) + (b.stale && status !== "stale" ? ` ${badge("stale")}` : ""))}
${cell(`Remaining ${escapeHtml(unit)}s`, remaining, "fig-remaining-label")}
${cell("Used this period", `<span id="fig-used">${escapeHtml(used)}</span>`)}
${cell("Charges so far", typeof b.charges?.total === "string" ? `${escapeHtml(groupDigits(b.charges.total))} ${escapeHtml(b.currency)}` : "–")}
${cell("Period", `${escapeHtml(b.period.start_date)} → ${timeTag(b.period.end)}`)}
${cell("Model", escapeHtml(String(v.contract.plan.model ?? "–")))}
</dl>`;
}

function consumption(v: ContractView, unit: string): string {
  if (!v.daily || !v.balance) return unavailable("Usage history");
  const plan = v.contract.plan;
  const chart = consumptionChart({
    rows: v.daily.rows, from: v.daily.from, to: v.daily.to, periodStartDate: v.balance.period.start_date, unit,
    includedUnits: typeof plan.included_units === "string" ? plan.included_units : "0",
    grantedUnits: typeof v.balance.granted_units === "string" ? v.balance.granted_units : null,
    tiers: Array.isArray(plan.price?.tiers) ? plan.price.tiers : [],
  });
  if (!chart) return unavailable("Usage in units");
  // The data rides in an attribute (HTML-escaped JSON): htmx swaps pages in without their <script> elements.
  const data = escapeHtml(JSON.stringify(chart));
  const rows = chart.days.map((d, i) => `<tr><th scope="row">${d}</th><td class="num">${groupDigits(chart.daily[i]!)}</td><td class="num">${chart.cumulative[i] === null ? "–" : groupDigits(chart.cumulative[i]!)}</td></tr>`).reverse().join("");
  const levels = chart.levels.map((l) => `${escapeHtml(l.label)}: ${escapeHtml(groupDigits(l.value))}`).join(" · ");
  return `<p class="legend-note">${escapeHtml(unit)}s per day (bars) and this period's cumulative use (line)${levels ? `, against ${levels}` : ""}.</p>
<div class="chart" data-chart="${data}" role="img" aria-label="Chart of ${escapeHtml(unit)}s per day; the same figures are in the table below"></div>
<details><summary>Daily figures as a table</summary><div class="wide"><table><caption>${escapeHtml(unit)}s per day, newest first</caption>
<thead><tr><th scope="col">Day</th><th scope="col" class="num">${escapeHtml(unit)}s</th><th scope="col" class="num">Cumulative this period</th></tr></thead><tbody>${rows}</tbody></table></div></details>`;
}

/** Rows grouped by collector, labelled by site name. */
function siteNames(v: ContractView): UsageRow[] | null {
  if (!v.bySite) return null;
  const names = new Map((v.sites ?? []).map((s) => [String(s.id ?? s.collector_id), String(s.site)]));
  return v.bySite.map((r) => ({ ...r, site: names.get(String(r.collector ?? r.collector_id)) ?? String(r.collector ?? r.collector_id ?? "–") }));
}

function usageTable(caption: string, dim: string, rows: UsageRow[] | null, unit: string): string {
  if (!rows) return `<div>${unavailable(caption)}</div>`;
  if (rows.length === 0) return `<div><h3>${caption}</h3><p>No use recorded this period.</p></div>`;
  const withUnits = rows.some((r) => typeof r.units === "string");
  // Draws (use windows, checkouts) only when the plan sells some.
  const withDraws = rows.some((r) => typeof r.draws === "number" && r.draws > 0);
  const sorted = [...rows].sort((a, b) => b.license_seconds - a.license_seconds);
  const body = sorted.map((r) => `<tr><th scope="row">${escapeHtml(String(r[dim] ?? "–"))}</th><td class="num">${licenseTime(r.license_seconds)}</td>`
    + `${withDraws ? `<td class="num">${typeof r.draws === "number" ? r.draws : "–"}</td>` : ""}`
    + `${withUnits ? `<td class="num">${typeof r.units === "string" ? escapeHtml(groupDigits(r.units)) : "–"}</td>` : ""}</tr>`).join("");
  return `<div class="wide"><table><caption>${caption}</caption><thead><tr><th scope="col">${escapeHtml(dim[0]!.toUpperCase() + dim.slice(1))}</th><th scope="col" class="num">License time</th>`
    + `${withDraws ? `<th scope="col" class="num">Draws</th>` : ""}`
    + `${withUnits ? `<th scope="col" class="num">${escapeHtml(unit)}s</th>` : ""}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function grants(v: ContractView, unit: string): string {
  const list: Array<Record<string, any>> | undefined = v.balance?.grants;
  if (!Array.isArray(list)) return unavailable("Grants");
  if (list.length === 0) return `<p>No grants: all use is billed at the plan's price.</p>`;
  const rate = v.recentUnits === null ? null : { units: v.recentUnits, window_ms: v.rateWindowMs };
  const forecasts = rate ? forecastGrants(list as any, rate, v.now) : null;
  const day = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: v.contract.timezone });
  const rows = list.map((g, i) => {
    const f = forecasts?.[i];
    let outlook = "–";
    if (f && f.unused_at_expiry !== null && f.unused_at_expiry !== "0") {
      outlook = `At the current rate, <strong>${escapeHtml(groupDigits(f.unused_at_expiry))} ${escapeHtml(unit)}s</strong> expire unused on ${escapeHtml(day.format(Date.parse(g.expires_at)))}.`;
    } else if (f && f.exhausted_at !== null) {
      outlook = `At the current rate, used up around ${escapeHtml(day.format(f.exhausted_at))}.`;
    } else if (f && g.remaining !== "0" && f.exhausted_at === null && f.unused_at_expiry === null) {
      outlook = "No recent use: not burning.";
    } else if (g.remaining === "0") {
      outlook = "Used up.";
    }
    return `<tr><th scope="row"><code>${escapeHtml(g.id)}</code></th><td class="num">${escapeHtml(groupDigits(g.amount))}</td><td class="num">${escapeHtml(groupDigits(g.remaining))}</td>`
      + `<td>${timeTag(g.effective_at)}</td><td>${g.expires_at ? timeTag(g.expires_at) : "never"}</td><td class="num">${escapeHtml(String(g.priority))}</td><td>${outlook}</td></tr>`;
  }).join("");
  const rateNote = rate ? `Forecast from the last ${RATE_DAYS} days: ${escapeHtml(groupDigits(unitsPerDay(rate)))} ${escapeHtml(unit)}s per day.` : "No usage rate available for a forecast.";
  return `<p class="legend-note">${rateNote}</p><div class="wide"><table><caption>Grants, in the order they are created; the lowest priority number burns first, then the earliest expiry</caption>
<thead><tr><th scope="col">Grant</th><th scope="col" class="num">Amount</th><th scope="col" class="num">Remaining</th><th scope="col">Effective</th><th scope="col">Expires</th><th scope="col" class="num">Priority</th><th scope="col">Forecast</th></tr></thead>
<tbody>${rows}</tbody></table></div>`;
}

function sites(v: ContractView): string {
  if (!v.sites) return unavailable("The list of sites");
  if (v.sites.length === 0) return `<p>No site enrolled yet: use “Enroll a site” below.</p>`;
  const rows = v.sites.map((s) => {
    const flags = [...(s.stale ? ["stale"] : []), ...(Array.isArray(s.flags) ? s.flags : []), ...(s.revoked_at || s.revoked ? ["revoked"] : [])];
    const unique = [...new Set(flags.map(String))];
    return `<tr><th scope="row">${escapeHtml(String(s.site))}<br><span class="muted"><code>${escapeHtml(String(s.id))}</code></span></th>`
      + `<td>${s.last_sync ? timeTag(s.last_sync) : `<span class="muted">never</span>`}</td><td class="num">${escapeHtml(String(s.acked_seq ?? 0))}</td>`
      + `<td class="num">${escapeHtml(String(s.quarantined_records ?? 0))}</td><td>${unique.length ? unique.map(badge).join(" ") : badge("ok")}</td></tr>`;
  }).join("");
  return `<div class="wide"><table><caption>Sites, their last sync and flags</caption>
<thead><tr><th scope="col">Site</th><th scope="col">Last sync</th><th scope="col" class="num">Records receipted</th><th scope="col" class="num">Quarantined</th><th scope="col">Flags</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** What the sites that opted in did to their license managers' options files, newest first. */
function enforcement(v: ContractView): string {
  if (!v.enforcement) return unavailable("The enforcement log");
  if (v.enforcement.length === 0) return `<p class="muted">No site has changed its license manager: enforcement is opt-in at each site, and acts only while the contract is blocked.</p>`;
  const rows = v.enforcement.map((e) => `<tr><th scope="row">${escapeHtml(String(e.site))}</th><td>${timeTag(String(e.at))}</td>`
    + `<td>${badge(e.action === "block" ? "blocked" : "ok")} ${escapeHtml(String(e.action))}</td><td>${escapeHtml(Array.isArray(e.features) ? e.features.join(", ") : "")}</td>`
    + `<td>${escapeHtml(String(e.result))}</td></tr>`).join("");
  return `<div class="wide"><table><caption>Latest changes to the sites' options files (EXCLUDE blocks), newest first</caption>
<thead><tr><th scope="col">Site</th><th scope="col">When</th><th scope="col">Change</th><th scope="col">Features</th><th scope="col">Result</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

function statement(v: ContractView): string {
  const s = v.statement;
  if (!s || !Array.isArray(s.lines)) return unavailable("The statement");
  const csv = `/console/contracts/${escapeHtml(v.contract.id)}/statement.csv`;
  const lines = s.lines.map((l: Record<string, any>) => `<tr><td>${escapeHtml(String(l.kind))}</td><td>${escapeHtml(String(l.description ?? ""))}</td>`
    + `<td class="num">${escapeHtml(groupDigits(String(l.quantity)))}</td><td class="num">${l.unit_price === undefined ? "" : escapeHtml(String(l.unit_price))}</td><td class="num">${escapeHtml(groupDigits(String(l.amount)))}</td></tr>`).join("");
  return `<p>Period ${escapeHtml(String(s.period?.start_date ?? ""))} (${escapeHtml(String(s.state ?? ""))}). <a class="button quiet" href="${csv}" download hx-boost="false">Download CSV</a></p>
<div class="wide"><table><caption>Statement lines (${escapeHtml(String(s.currency))})</caption>
<thead><tr><th scope="col">Kind</th><th scope="col">Description</th><th scope="col" class="num">Quantity</th><th scope="col" class="num">Unit price</th><th scope="col" class="num">Amount</th></tr></thead>
<tbody>${lines || `<tr><td colspan="5">No lines yet.</td></tr>`}</tbody>
<tfoot><tr><th scope="row" colspan="4">Total</th><td class="num" id="statement-total">${escapeHtml(groupDigits(String(s.total)))}</td></tr></tfoot></table></div>`;
}

function statusLinks(v: ContractView): string {
  if (!v.statusLinks) return unavailable("The list of status links");
  if (v.statusLinks.length === 0) return `<p>No status links yet.</p>`;
  const rows = v.statusLinks.map((l) => `<tr><th scope="row"><code>${escapeHtml(String(l.id))}</code></th><td>${escapeHtml(String(l.name ?? "–"))}</td>`
    + `<td>${timeTag(String(l.created_at))}</td><td>${l.revoked_at ? badge("revoked") : badge("ok")}</td></tr>`).join("");
  return `<div class="wide"><table><caption>Links given to the customer (the URLs are shown only when made)</caption>
<thead><tr><th scope="col">Link</th><th scope="col">Label</th><th scope="col">Created</th><th scope="col">State</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
