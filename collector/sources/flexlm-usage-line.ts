// One FlexLM debug-log usage message (`OUT: "feature" user@host  (N licenses)` and its kin),
// parsed right-to-left because user names may contain spaces and UTF-8 (FORMATS.md §2.2).

export type UsageKind = "OUT" | "IN" | "DENIED" | "UNSUPPORTED" | "QUEUED" | "DEQUEUED" | "UPGRADE";

export interface UsageLine {
  kind: UsageKind;
  feature: string;
  user: string;
  host: string;
  /** Checkout data string in `[…]` (MSC puts the real product there). */
  cdstring?: string;
  count: number;
  /** Text of the parenthesised suffixes other than the license count, e.g. `INACTIVE`, a denial reason. */
  notes: string[];
}

const KIND = /^(OUT|IN|DENIED|UNSUPPORTED|QUEUED|DEQUEUED|UPGRADE): (.*)$/;
const COUNT = /^(\d+) licenses?$/;
const HEXKEY = /^\(([0-9A-Fa-f ]+)\)\s+/;

export function parseUsageMessage(message: string): UsageLine | undefined {
  const m = KIND.exec(message);
  if (!m) return undefined;
  const kind = m[1] as UsageKind;
  let rest = m[2]!.trim();

  let feature: string;
  if (rest.startsWith('"')) {
    const close = rest.indexOf('"', 1);
    if (close < 0) return undefined;
    feature = rest.slice(1, close);
    rest = rest.slice(close + 1).trim();
  } else {
    const space = rest.indexOf(" ");
    if (space < 0) return undefined;
    feature = rest.slice(0, space);
    rest = rest.slice(space + 1).trim();
  }
  if (feature === "") return undefined;
  const hex = HEXKEY.exec(rest);
  if (hex && rest.includes("@", hex[0].length)) rest = rest.slice(hex[0].length);

  // Trailing "(…)" groups, possibly nested: "(Licensed number of users already reached. (-4,342))".
  const notes: string[] = [];
  let count = 1;
  while (rest.endsWith(")")) {
    const open = matchingOpen(rest);
    if (open < 0) break;
    const group = rest.slice(open + 1, rest.length - 1).trim();
    const before = rest.slice(0, open).trimEnd();
    if (!before.includes("@")) break; // the parenthesis belongs to the user@host part
    rest = before;
    const c = COUNT.exec(group);
    if (c) count = Number(c[1]);
    else notes.unshift(group);
  }
  let cdstring: string | undefined;
  if (rest.endsWith("]")) {
    const open = rest.lastIndexOf("[");
    if (open > 0) {
      cdstring = rest.slice(open + 1, -1).trim();
      rest = rest.slice(0, open).trimEnd();
    }
  }
  const at = rest.lastIndexOf("@");
  if (at <= 0 || at === rest.length - 1) return undefined;
  const user = rest.slice(0, at).trim();
  const host = rest.slice(at + 1).trim();
  if (user === "" || host === "" || host.includes(" ")) return undefined;
  return { kind, feature, user, host, ...(cdstring !== undefined ? { cdstring } : {}), count, notes };
}

function matchingOpen(text: string): number {
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text.charCodeAt(i);
    if (c === 41 /* ) */) depth++;
    else if (c === 40 /* ( */ && --depth === 0) return i;
  }
  return -1;
}
