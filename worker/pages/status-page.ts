// The customer's status page (GET /status/:token, HTML): remaining units with a meter, this
// period's usage by feature, each site's last sync. Semantic HTML, no JavaScript; every figure
// is also written out as text (the meter is decoration for those who can see it).
import type { CustomerStatus } from "../customer-status.ts";
import { escapeHtml, renderPage, timeTag } from "./layout.ts";

export function renderStatusPage(s: CustomerStatus): string {
  const unit = escapeHtml(s.unit_name);
  return renderPage("Usage status", `
<h1>Usage status</h1>
<p class="muted">Period started ${escapeHtml(s.period.start_date)}, ends ${timeTag(s.period.end)}. As of ${timeTag(s.as_of)}.</p>
<section aria-labelledby="remaining-h"><h2 id="remaining-h">Remaining ${unit}s</h2>${remaining(s, unit)}</section>
<section aria-labelledby="usage-h"><h2 id="usage-h">Usage this period</h2>${usage(s, unit)}</section>
<section aria-labelledby="sites-h"><h2 id="sites-h">Sites</h2>${sites(s)}</section>${enforcement(s)}`);
}

/** Shown only once a site has enforcement records: most sites never opt in. */
function enforcement(s: CustomerStatus): string {
  if (s.enforcement.length === 0) return "";
  const rows = s.enforcement.map((e) => `<tr><th scope="row">${escapeHtml(e.site)}</th><td>${timeTag(e.at)}</td>`
    + `<td>${e.action === "block" ? `<span class="bad">Blocked</span>` : `<span class="ok">Unblocked</span>`}</td>`
    + `<td>${escapeHtml(e.features.join(", ") || "–")}</td><td>${e.result === "applied" ? "applied" : `<span class="bad">${escapeHtml(e.result.replace(/_/g, " "))}</span>`}</td></tr>`).join("");
  return `<section aria-labelledby="enforcement-h"><h2 id="enforcement-h">License blocks at your sites</h2>`
    + `<p class="muted">What each site's license manager was told while the contract was blocked, and when it was lifted.</p>`
    + `<div class="wide"><table><caption>Latest changes, newest first</caption>`
    + `<thead><tr><th scope="col">Site</th><th scope="col">When</th><th scope="col">Change</th><th scope="col">Features</th><th scope="col">Result</th></tr></thead><tbody>${rows}</tbody></table></div></section>`;
}

function remaining(s: CustomerStatus, unit: string): string {
  // `low`, `exhausted`, `blocked` matter to the customer; `ok` goes without saying.
  const status = s.status && s.status !== "ok" ? `<p>Status: <span class="bad">${escapeHtml(s.status)}</span></p>` : "";
  if (s.remaining_units === null || s.granted_units === null) {
    return `<p>No prepaid balance.</p>${status}`;
  }
  const [left, total] = [escapeHtml(s.remaining_units), escapeHtml(s.granted_units)];
  // A meter needs max > 0; a zero grant is shown as text only.
  const bar = /^0+(\.0+)?$/.test(s.granted_units) ? ""
    : `<meter id="remaining" min="0" max="${total}" value="${left}">${left} of ${total}</meter>`;
  return `<p class="big"><label for="remaining"><strong>${left}</strong> of ${total} ${unit}s remaining</label></p>${bar}${status}`;
}

function usage(s: CustomerStatus, unit: string): string {
  if (s.usage.by_feature.length === 0) return `<p>No use recorded yet this period.</p>`;
  const withUnits = s.usage.by_feature.some((f) => f.units !== null);
  // Draws (use windows, checkouts) only when the plan sells some: a license-hour plan has none.
  const withDraws = s.usage.by_feature.some((f) => f.draws > 0);
  const unitCell = (v: string | null) => (withUnits ? `<td class="num">${v === null ? "–" : escapeHtml(v)}</td>` : "");
  const drawCell = (v: number | null) => (withDraws ? `<td class="num">${v === null ? "" : v}</td>` : "");
  const rows = s.usage.by_feature.map((f) =>
    `<tr><th scope="row">${escapeHtml(f.feature)}</th><td class="num">${licenseTime(f.license_seconds)}</td>${drawCell(f.draws)}${unitCell(f.units)}</tr>`).join("");
  const totalDraws = s.usage.by_feature.reduce((n, f) => n + f.draws, 0);
  return `<div class="wide"><table><caption>License time by feature since ${escapeHtml(s.period.start_date)}</caption>`
    + `<thead><tr><th scope="col">Feature</th><th scope="col" class="num">License time</th>${withDraws ? `<th scope="col" class="num">Draws</th>` : ""}${withUnits ? `<th scope="col" class="num">${unit}s</th>` : ""}</tr></thead>`
    + `<tbody>${rows}</tbody>`
    + `<tfoot><tr><th scope="row">Total</th><td class="num">${licenseTime(s.usage.license_seconds)}</td>${drawCell(totalDraws)}${unitCell(s.usage.units)}</tr></tfoot></table></div>`;
}

function sites(s: CustomerStatus): string {
  if (s.sites.length === 0) return `<p>No site has been set up yet.</p>`;
  const rows = s.sites.map((site) => {
    const last = site.last_sync === null ? "never" : timeTag(site.last_sync);
    const state = site.stale ? `<span class="bad">Out of date: no recent sync</span>` : `<span class="ok">Up to date</span>`;
    return `<tr><th scope="row">${escapeHtml(site.site)}</th><td>${last}</td><td>${state}</td></tr>`;
  }).join("");
  const note = s.stale ? `<p class="bad">Some sites have not synced recently: their latest use is not counted yet.</p>` : "";
  return `${note}<div class="wide"><table><caption>When each site last sent its usage</caption>`
    + `<thead><tr><th scope="col">Site</th><th scope="col">Last sync</th><th scope="col">State</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/** 9000 → "2 h 30 min": whole minutes, rounded down. */
export function licenseTime(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
}

export function renderStatusNotFound(): string {
  return renderPage("Status link not found", `<h1>Status link not found</h1><p>This link is not valid: it may have been revoked. Ask your vendor for a new one.</p>`);
}

/** A contract the edge cannot serve (`storage_too_new`): what the customer can do is tell the vendor. */
export function renderStatusUnavailable(code: string): string {
  return renderPage("Status unavailable", `<h1>Status unavailable</h1><p>This usage status cannot be shown right now: the service holding it is running an older version than the one that last stored it. Please let your vendor know; the status returns once they run the newer version or restore their backup.</p><p class="muted">Error code: ${escapeHtml(code)}</p>`);
}
