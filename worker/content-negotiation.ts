// `Accept` negotiation between JSON and HTML: JSON only when the client ranks it strictly above
// HTML (browsers send text/html first; `*/*` or no header gets the page).
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  return quality(accept, "application", "json") > quality(accept, "text", "html");
}

/** The q of the most specific range matching type/subtype (RFC 9110 §12.5.1); 0 when none does. */
function quality(accept: string, type: string, subtype: string): number {
  let best = -1;
  let q = 0;
  for (const part of accept.split(",")) {
    const [range = "", ...params] = part.trim().toLowerCase().split(";");
    const [t, s] = range.trim().split("/");
    const specificity = t === type && s === subtype ? 2 : t === type && s === "*" ? 1 : t === "*" && s === "*" ? 0 : -1;
    if (specificity <= best) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    best = specificity;
    q = Number.isFinite(value) ? value : 0;
  }
  return q;
}
