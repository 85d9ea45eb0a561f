// The look of the edge's HTML pages (customer status page, API reference; later the vendor
// console): one small stylesheet and a page shell. No JavaScript, no external assets, so pages
// work offline and under a CSP of `default-src 'none'`. `escapeHtml` for every interpolated value.

/** System fonts, high contrast (body text ≥ 12:1, muted ≥ 7:1 on white), readable at 320 px. */
export const PAGE_CSS = `
:root{color-scheme:light;--fg:#1a1a1a;--muted:#555;--line:#d0d0d0;--accent:#0b57d0;--bad:#a4000f;--ok:#0a6b2a}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#fff}
main{max-width:46rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .25rem}
.muted{color:var(--muted)}.big{font-size:1.4rem;margin:.25rem 0}
.bad{color:var(--bad);font-weight:600}.ok{color:var(--ok)}
meter{width:100%;height:1.5rem}
table{border-collapse:collapse;width:100%}caption{text-align:left;color:var(--muted);padding-bottom:.25rem}
th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,monospace;background:#f3f3f3;padding:0 .2em;border-radius:3px}
.wide{overflow-x:auto}
a{color:var(--accent)}
`.trim();

export function escapeHtml(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

export function renderPage(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">`
    + `<meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${PAGE_CSS}</style></head>`
    + `<body><main>${body}</main></body></html>`;
}

/** `2026-11-27T10:00:00Z` → `<time datetime=…>2026-11-27 10:00 UTC</time>`. */
export function timeTag(instant: string): string {
  return `<time datetime="${escapeHtml(instant)}">${escapeHtml(instant.replace("T", " ").replace(/:\d\dZ$/, " UTC"))}</time>`;
}

/** Security headers for every page: nothing may load or run, and the URL (a capability) never leaks as a Referer. */
export const PAGE_HEADERS = {
  "Content-Type": "text/html; charset=utf-8",
  "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "Referrer-Policy": "no-referrer",
  "X-Content-Type-Options": "nosniff",
} as const;
