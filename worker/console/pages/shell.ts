// The console's page shell: the shared look of the edge's pages (pages/layout.ts, also used by
// the customer status page) plus what an interactive page needs — a skip link, a header with
// sign-out, visible keyboard focus, status badges, forms — and its scripts: htmx (forms and
// links swap the page in place, `hx-boost`) and uPlot for charts, both served as static assets.
import { escapeHtml, PAGE_CSS } from "../../pages/layout.ts";

export const ASSETS = "/console/assets";

/** Contrast on white: badges ≥ 4.5:1 (text on their tint ≥ 7:1); focus ring 3px, never removed. */
export const CONSOLE_CSS = `
main{max-width:72rem}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem 1rem;z-index:10}
.skip:focus{left:.5rem}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
header.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;justify-content:space-between;border-bottom:1px solid var(--line);padding:.5rem 1rem;max-width:72rem;margin:0 auto}
header.bar a.home{font-weight:700;text-decoration:none;color:var(--fg)}
header.bar form{margin:0}
nav.crumbs{font-size:.95rem}
.badge{display:inline-block;padding:0 .45em;border-radius:.3em;font-size:.875rem;font-weight:600;border:1px solid currentColor;white-space:nowrap}
.badge.ok{color:#0a5a23;background:#e8f5ec}.badge.low{color:#6b4500;background:#fff4dc}
.badge.exhausted,.badge.blocked{color:#8f000d;background:#fde8ea}.badge.stale,.badge.revoked{color:#3d3d3d;background:#ececec}
.badge.equivocation{color:#8f000d;background:#fde8ea}
table meter{width:8rem;height:1rem;vertical-align:middle}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(10rem,100%),1fr));gap:.75rem;margin:1rem 0}
.figures div{border:1px solid var(--line);border-radius:.4rem;padding:.5rem .75rem}
.figures dt{color:var(--muted);font-size:.875rem}.figures dd{margin:0;font-size:1.25rem;font-weight:600;overflow-wrap:anywhere}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(20rem,100%),1fr));gap:0 1.5rem}.grid2>*{min-width:0}
code{overflow-wrap:anywhere}h1 code{font-size:.8em}
form.card{border:1px solid var(--line);border-radius:.4rem;padding:.75rem 1rem;margin:.75rem 0}
form.card h3{margin-top:0}
label{display:block;font-weight:600;margin:.5rem 0 .2rem}
.hint{font-weight:400;color:var(--muted);font-size:.875rem}
input,textarea,select,button{font:inherit;color:inherit}
input,textarea,select{width:100%;max-width:28rem;padding:.4rem .5rem;border:1px solid #767676;border-radius:.3rem;background:#fff}
textarea{max-width:100%;min-height:10rem;font:.85rem/1.4 ui-monospace,SFMono-Regular,Menlo,monospace}
button,.button{display:inline-block;margin-top:.75rem;padding:.45rem 1rem;border:1px solid var(--accent);border-radius:.3rem;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;font-weight:600}
button.quiet{background:#fff;color:var(--accent)}
.notice{border-left:4px solid var(--ok);background:#eef7f1;padding:.5rem .75rem;margin:1rem 0}
.error{border-left:4px solid var(--bad);background:#fdeeee;padding:.5rem .75rem;margin:1rem 0}
.secret{border:2px solid var(--accent);background:#eef3fd;padding:.5rem .75rem;margin:.75rem 0;overflow-wrap:anywhere}
.chart{min-height:240px;margin:.5rem 0;max-width:100%;overflow:hidden}
.legend-note{font-size:.875rem;color:var(--muted)}
@media (max-width:40rem){main{padding:.75rem}table meter{width:5rem}th,td{padding:.35rem .3rem}
table.stack thead{position:absolute;left:-9999px}table.stack tr{display:block;border-bottom:1px solid var(--line);padding:.4rem 0}
table.stack th,table.stack td{display:block;border:0;text-align:left;padding:.15rem 0}
table.stack td::before{content:attr(data-label) ": ";color:var(--muted);font-size:.875rem}}
`.trim();

export interface ShellOptions {
  title: string;
  /** The signed-in session's CSRF token (for the sign-out form); absent on the sign-in page. */
  csrf?: string;
  crumbs?: string;
}

export function renderConsolePage(opts: ShellOptions, body: string): string {
  const signOut = opts.csrf === undefined ? "" : `<form method="post" action="/console/sign-out">`
    + `<input type="hidden" name="csrf" value="${escapeHtml(opts.csrf)}"><button class="quiet" type="submit">Sign out</button></form>`;
  // htmx is configured in a meta tag (no inline script under the CSP): no inline indicator
  // styles, no eval, and error answers are swapped in too (they are whole pages with a message).
  const htmxConfig = JSON.stringify({
    includeIndicatorStyles: false, allowEval: false, allowScriptTags: false, historyCacheSize: 0,
    responseHandling: [{ code: "204", swap: false }, { code: "...", swap: true }],
  });
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">`
    + `<meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<meta name="robots" content="noindex"><meta name="htmx-config" content="${escapeHtml(htmxConfig)}">`
    + `<link rel="icon" href="data:,"><title>${escapeHtml(opts.title)} · Tally console</title>`
    + `<style>${PAGE_CSS}\n${CONSOLE_CSS}</style>`
    + `<link rel="stylesheet" href="${ASSETS}/uPlot.min.css">`
    + `<script defer src="${ASSETS}/htmx.min.js"></script><script defer src="${ASSETS}/uPlot.iife.min.js"></script><script defer src="${ASSETS}/console.js"></script>`
    + `</head><body hx-boost="true"><a class="skip" href="#content">Skip to content</a>`
    + `<header class="bar"><a class="home" href="/console">Tally console</a>${opts.crumbs ? `<nav class="crumbs" aria-label="Breadcrumb">${opts.crumbs}</nav>` : ""}${signOut}</header>`
    + `<main id="content" tabindex="-1">${body}</main></body></html>`;
}

/** Scripts and styles only from this origin; inline styles for the shared look and uPlot's layout. */
export const CONSOLE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  "Referrer-Policy": "same-origin",
  "X-Content-Type-Options": "nosniff",
  "Cache-Control": "no-store",
} as const;

/** "1234567.5" → "1,234,567.5" (digits grouped for reading; the value is unchanged). */
export function groupDigits(decimal: string): string {
  const [whole, frac] = decimal.split(".");
  const sign = whole!.startsWith("-") ? "-" : "";
  const digits = whole!.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${digits}${frac === undefined ? "" : `.${frac}`}`;
}

export function badge(word: string): string {
  return `<span class="badge ${escapeHtml(word)}">${escapeHtml(word)}</span>`;
}

export function csrfField(csrf: string): string {
  return `<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">`;
}
