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

/** Where the parts of a usage message lie, and what its suffixes say (see scanUsage). */
export interface UsageScan {
  kind: UsageKind;
  /** The holder: text[who, whoEnd) is `"feature" [(HEXKEY)] user@host [cdstring]`; the user starts at `user`. */
  who: number;
  user: number;
  whoEnd: number;
  count: number;
  notes: string[];
  verbose: Verbose | undefined;
}

/** The names in a usage message. */
export interface Who {
  feature: string;
  user: string;
  host: string;
  cdstring?: string;
  product?: string;
}

export function newUsageScan(): UsageScan {
  return { kind: "OUT", who: 0, user: 0, whoEnd: 0, count: 1, notes: NO_NOTES, verbose: undefined };
}

export function parseUsageMessage(text: string, start = 0, end = text.length): UsageLine | undefined {
  const scan = newUsageScan();
  if (!scanUsage(text, start, end, scan)) return undefined;
  const who = whoOf(text, scan);
  if (!who) return undefined;
  const line: UsageLine = { kind: scan.kind, ...who, count: scan.count, notes: scan.notes };
  const verbose = scan.verbose;
  if (verbose) {
    line.handle = verbose.handle;
    if (verbose.date) line.date = verbose.date;
    if (verbose.secondOfDay !== undefined) line.secondOfDay = verbose.secondOfDay;
  }
  return line;
}

/**
 * Finds the parts of the usage message in text[start, end) without cutting any out (the caller
 * may know the holder already): false when it is not one.
 */
export function scanUsage(text: string, start: number, end: number, scan: UsageScan): boolean {
  const kind = usageKindAt(text, start);
  if (kind === undefined) return false;
  let p = start + kind.length + 2;
  let e = end;
  while (e > p && isBlank(text.charCodeAt(e - 1))) e--;
  while (p < e && isBlank(text.charCodeAt(p))) p++;

  let verbose: Verbose | undefined;
  if (text.startsWith("^^^", e - 3)) {
    const open = text.indexOf(" ^^^ ", p);
    if (open < 0 || open + 5 > e - 3) return false;
    verbose = parseVerbose(text.slice(open + 5, e - 3));
    if (!verbose) return false;
    e = open;
    while (e > p && isBlank(text.charCodeAt(e - 1))) e--;
  }

  let q: number;
  if (text.charCodeAt(p) === 34) {
    const close = text.indexOf('"', p + 1);
    if (close < 0 || close >= e) return false;
    q = close + 1;
  } else {
    const space = text.indexOf(" ", p);
    if (space < 0 || space >= e) return false;
    q = space + 1;
  }
  while (q < e && isBlank(text.charCodeAt(q))) q++;
  if (text.charCodeAt(q) === 40) { // `(HEXKEY) ` before the user, as UNSUPPORTED lines have
    const close = text.indexOf(")", q);
    const at = close < 0 ? -1 : text.indexOf("@", close);
    if (close > q && close + 1 < e && isBlank(text.charCodeAt(close + 1)) && at >= 0 && at < e && HEXKEY.test(text.slice(q + 1, close))) {
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
    if (text.lastIndexOf("@", before - 1) < q) break; // the parenthesis belongs to the user@host part
    const n = licenseCount(text, open + 1, e - 1, verbose !== undefined);
    if (n >= 0) count = n;
    else {
      if (notes === NO_NOTES) notes = [];
      notes.unshift(text.slice(open + 1, e - 1).trim());
    }
    e = before;
  }
  scan.kind = kind;
  scan.who = p;
  scan.user = q;
  scan.whoEnd = e;
  scan.count = count;
  scan.notes = notes;
  scan.verbose = verbose;
  return true;
}

/** The names of a scanned message, or undefined when they do not make a holder. */
export function whoOf(text: string, scan: UsageScan): Who | undefined {
  const p = scan.who, q = scan.user;
  let e = scan.whoEnd;
  const feature = text.charCodeAt(p) === 34 ? text.slice(p + 1, text.indexOf('"', p + 1)) : text.slice(p, text.indexOf(" ", p));
  if (feature === "") return undefined;
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
  const user = at === q ? scan.verbose?.user ?? "" : text.slice(q, at).trim();
  if (user === "" || host === "" || host.includes(" ")) return undefined;
  const who: Who = { feature, user, host };
  if (cdstring !== undefined) {
    who.cdstring = cdstring;
    const product = poolProduct(feature, cdstring);
    if (product !== undefined) who.product = product;
  }
  return who;
}

/** `N license[s]` (or, in verbose messages, a bare `N`) in text[from, to) → N, else -1. */
function licenseCount(text: string, from: number, to: number, verbose: boolean): number {
  while (from < to && isBlank(text.charCodeAt(from))) from++;
  while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
  let i = from, n = 0;
  for (let c = text.charCodeAt(i); i < to && c >= 48 && c <= 57; c = text.charCodeAt(++i)) n = n * 10 + (c - 48);
  if (i === from) return -1;
  if (i === to) return verbose ? n : -1;
  if (text.charCodeAt(i) !== 32 || !text.startsWith("license", i + 1)) return -1;
  const rest = to - (i + 8);
  return rest === 0 || (rest === 1 && text.charCodeAt(to - 1) === 115) ? n : -1;
}

/** `POOL:PRODUCT` where POOL is the feature → PRODUCT. */
function poolProduct(feature: string, cdstring: string): string | undefined {
  const colon = cdstring.indexOf(":");
  if (colon <= 0 || colon === cdstring.length - 1 || /\s/.test(cdstring)) return undefined;
  return cdstring.slice(0, colon).toLowerCase() === feature.toLowerCase() ? cdstring.slice(colon + 1) : undefined;
}

export interface Verbose { user: string; handle: string; date?: UsageLine["date"]; secondOfDay?: number }

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
