// One FlexLM debug-log usage message (`OUT: "feature" user@host  (N licenses)` and its kin),
// parsed right-to-left because user names may contain spaces and UTF-8 (FORMATS.md §2.2).
// Works on a slice of a larger text (start…end) so a whole chunk of log is parsed without
// cutting it into line strings first.
//
// Verbose messages (`ls_enable_verbose_dlog`) end in `^^^ ver user ip pid handle in_use out_of
// project flex_version flex_revision date time is_dup_group ^^^`: the user and the license handle
// come from there, and the date is a date anchor. MSC/Hexagon token pools name the product that
// drew the tokens in the checkout data string, `[POOL:PRODUCT]`, with the pool as the feature.

export type UsageKind = "OUT" | "IN" | "DENIED" | "UNSUPPORTED" | "QUEUED" | "DEQUEUED" | "UPGRADE";

export interface UsageLine {
  kind: UsageKind;
  feature: string;
  user: string;
  host: string;
  /** Checkout data string in `[…]`. */
  cdstring?: string;
  /** The product drawing from a token pool (`[POOL:PRODUCT]` with POOL = the feature). */
  product?: string;
  count: number;
  /** Text of the parenthesised suffixes other than the license count, e.g. `INACTIVE`, a denial reason. */
  notes: string[];
  /** Verbose messages: the license handle, and the server's date and time of the operation. */
  handle?: string;
  date?: { year: number; month: number; day: number };
  secondOfDay?: number;
}

const NO_NOTES: string[] = [];
const COUNT = /^(\d+) licenses?$/;
const HEXKEY = /^[0-9A-Fa-f ]+$/;
const VERBOSE_DATE = /^(\d{1,4})[-/](\d{1,2})[-/](\d{1,4})$/;
const VERBOSE_TIME = /^(\d{1,2}):(\d{2}):(\d{2})$/;
const INTEGER = /^\d+$/;

/** The usage kind whose `KIND: ` prefix starts at `i`, if any. */
export function usageKindAt(text: string, i: number): UsageKind | undefined {
  switch (text.charCodeAt(i)) {
    case 79: return text.startsWith("OUT: ", i) ? "OUT" : undefined;
    case 73: return text.startsWith("IN: ", i) ? "IN" : undefined;
    case 68: return text.startsWith("DENIED: ", i) ? "DENIED" : text.startsWith("DEQUEUED: ", i) ? "DEQUEUED" : undefined;
    case 85: return text.startsWith("UNSUPPORTED: ", i) ? "UNSUPPORTED" : text.startsWith("UPGRADE: ", i) ? "UPGRADE" : undefined;
    case 81: return text.startsWith("QUEUED: ", i) ? "QUEUED" : undefined;
  }
  return undefined;
}

function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

export function parseUsageMessage(text: string, start = 0, end = text.length): UsageLine | undefined {
  const kind = usageKindAt(text, start);
  if (kind === undefined) return undefined;
  let p = start + kind.length + 2;
  let e = end;
  while (e > p && isBlank(text.charCodeAt(e - 1))) e--;
  while (p < e && isBlank(text.charCodeAt(p))) p++;

  let verbose: Verbose | undefined;
  if (text.startsWith("^^^", e - 3)) {
    const open = text.indexOf(" ^^^ ", p);
    if (open < 0 || open + 5 > e - 3) return undefined;
    verbose = parseVerbose(text.slice(open + 5, e - 3));
    if (!verbose) return undefined;
    e = open;
    while (e > p && isBlank(text.charCodeAt(e - 1))) e--;
  }

  let feature: string, q: number;
  if (text.charCodeAt(p) === 34) {
    const close = text.indexOf('"', p + 1);
    if (close < 0 || close >= e) return undefined;
    feature = text.slice(p + 1, close);
    q = close + 1;
  } else {
    const space = text.indexOf(" ", p);
    if (space < 0 || space >= e) return undefined;
    feature = text.slice(p, space);
    q = space + 1;
  }
  if (feature === "") return undefined;
  while (q < e && isBlank(text.charCodeAt(q))) q++;
  if (text.charCodeAt(q) === 40) { // `(HEXKEY) ` before the user, as UNSUPPORTED lines have
    const close = text.indexOf(")", q);
    if (close > q && close + 1 < e && isBlank(text.charCodeAt(close + 1)) && HEXKEY.test(text.slice(q + 1, close)) && text.indexOf("@", close) >= 0 && text.indexOf("@", close) < e) {
      q = close + 1;
      while (q < e && isBlank(text.charCodeAt(q))) q++;
    }
  }

  // Trailing "(…)" groups, possibly nested: "(Licensed number of users already reached. (-4,342))".
  let notes = NO_NOTES;
  let count = 1;
  while (e > q && text.charCodeAt(e - 1) === 41) {
    const open = matchingOpen(text, q, e);
    if (open < 0) break;
    let before = open;
    while (before > q && isBlank(text.charCodeAt(before - 1))) before--;
    const at = text.lastIndexOf("@", before - 1);
    if (at < q) break; // the parenthesis belongs to the user@host part
    const group = text.slice(open + 1, e - 1).trim();
    e = before;
    const c = COUNT.exec(group) ?? (verbose && INTEGER.test(group) ? [group, group] : null);
    if (c) count = Number(c[1]);
    else {
      if (notes === NO_NOTES) notes = [];
      notes.unshift(group);
    }
  }
  let cdstring: string | undefined;
  if (text.charCodeAt(e - 1) === 93) {
    const open = text.lastIndexOf("[", e - 1);
    if (open > q) {
      cdstring = text.slice(open + 1, e - 1).trim();
      e = open;
      while (e > q && isBlank(text.charCodeAt(e - 1))) e--;
    }
  }
  const at = text.lastIndexOf("@", e - 1);
  if (at < q || at === e - 1) return undefined;
  const host = text.slice(at + 1, e).trim();
  const user = at === q ? verbose?.user ?? "" : text.slice(q, at).trim();
  if (user === "" || host === "" || host.includes(" ")) return undefined;
  const line: UsageLine = { kind, feature, user, host, count, notes };
  if (cdstring !== undefined) {
    line.cdstring = cdstring;
    const product = poolProduct(feature, cdstring);
    if (product !== undefined) line.product = product;
  }
  if (verbose) {
    line.handle = verbose.handle;
    if (verbose.date) line.date = verbose.date;
    if (verbose.secondOfDay !== undefined) line.secondOfDay = verbose.secondOfDay;
  }
  return line;
}

/** `POOL:PRODUCT` where POOL is the feature → PRODUCT. */
function poolProduct(feature: string, cdstring: string): string | undefined {
  const colon = cdstring.indexOf(":");
  if (colon <= 0 || colon === cdstring.length - 1 || /\s/.test(cdstring)) return undefined;
  return cdstring.slice(0, colon).toLowerCase() === feature.toLowerCase() ? cdstring.slice(colon + 1) : undefined;
}

interface Verbose { user: string; handle: string; date?: UsageLine["date"]; secondOfDay?: number }

/**
 * `ver user ip pid handle in_use out_of project flex_version flex_revision date time is_dup_group`.
 * User and project may contain spaces: the user ends where `ip pid handle in_use out_of` fits.
 */
function parseVerbose(tail: string): Verbose | undefined {
  const t = tail.trim().split(/\s+/);
  const n = t.length;
  if (n < 12) return undefined;
  for (let i = 2; i + 5 <= n - 5; i++) {
    if (!INTEGER.test(t[i + 3]!) || !INTEGER.test(t[i + 4]!) || !(INTEGER.test(t[i + 1]!) || t[i + 1] === "N/A")) continue;
    const verbose: Verbose = { user: t.slice(1, i).join(" "), handle: t[i + 2]! };
    const d = VERBOSE_DATE.exec(t[n - 3]!);
    const tm = VERBOSE_TIME.exec(t[n - 2]!);
    if (d) {
      const [a, b, c] = [Number(d[1]), Number(d[2]), Number(d[3])];
      verbose.date = d[1]!.length === 4 ? { year: a, month: b, day: c } : { year: c, month: a, day: b };
    }
    if (tm && Number(tm[1]) < 24) verbose.secondOfDay = Number(tm[1]) * 3600 + Number(tm[2]) * 60 + Number(tm[3]);
    return verbose;
  }
  return undefined;
}

function matchingOpen(text: string, from: number, end: number): number {
  let depth = 0;
  for (let i = end - 1; i >= from; i--) {
    const c = text.charCodeAt(i);
    if (c === 41 /* ) */) depth++;
    else if (c === 40 /* ( */ && --depth === 0) return i;
  }
  return -1;
}
