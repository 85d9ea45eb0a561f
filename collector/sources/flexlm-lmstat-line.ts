// One lmstat user line, parsed from the right (FORMATS.md §1.2): user names may contain
// spaces, the display may be missing or followed by extra tokens, so only the `(vX)
// (server/port handle), start …` tail has a fixed shape.
import type { YearlessStamp } from "./snapshot-year.ts";

export interface LmstatUserLine {
  user: string;
  host: string;
  display?: string;
  /** Tokens between the display and `(v…)`: `MSCONE:ADAMS_View`, `2029.01`, `feature=…`, `1896957`. */
  extra: string[];
  clientVersion: string;
  server: string;
  port: string;
  handle: string;
  start: YearlessStamp;
  count: number;
  pid?: number;
  linger?: number;
  /** Text after the start that no suffix rule understood (the holder is still kept). */
  leftover: string;
}

// The handle is whatever the server prints (digits in every sample, but nothing promises so);
// `lmstat -asec` prints the start with seconds.
const TAIL = /^\s*(.+) \(v([^)]*)\) \(([^/ ]+)\/(\S+) ([^\s()]+)\), start (\w{3}) (\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2})(?::(\d{2}))?(.*)$/;
// lmstat prints `(vX)` only for a client version above 0.0 (its source: `if (l_compare_version(…,
// users->version, "0.0")) fprintf(" (v%s)")`), so a line may go straight from the names to the handle.
const TAIL_NO_VERSION = /^\s*(.+?) \(([^/ ()]+)\/(\S+) ([^\s()]+)\), start (\w{3}) (\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2})(?::(\d{2}))?(.*)$/;
// lmstat prints `(server/port handle)` only for a handle other than 0 (`if (users->ul_license_handle
// != 0)`, the same printer), so a line may go from the names, or `(vX)`, straight to the start.
const TAIL_NO_HANDLE = /^\s*(.+?)(?: \(v([^)]*)\))?, start (\w{3}) (\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2})(?::(\d{2}))?(.*)$/;
const QUEUED = /^\s*(.+) \(v([^)]*)\) \(([^/ ]+)\/(\S+) ([^\s()]+)\) queued for (\d+) licenses?$/;

const SUFFIXES: Array<[RegExp, (m: RegExpExecArray, line: LmstatUserLine) => void]> = [
  [/^, (\d+) licenses?/, (m, l) => { l.count = Number(m[1]); }],
  [/^, PID: (\d+)/, (m, l) => { l.pid = Number(m[1]); }],
  [/^\s+\(linger: (\d+)(?: \/ \d+)?\)/, (m, l) => { l.linger = Number(m[1]); }],
  // A borrowed license's return time (FLEXlm 9.2's lm_stat.c writes it instead of the linger): still held until then.
  [/^, borrow-return \w{3} \d{1,2}\/\d{1,2} \d{1,2}:\d{2}(?::\d{2})?/, () => {}],
];

function looksLikeDisplay(token: string): boolean {
  return token.startsWith("/dev/") || /^[^:\s]*:\d/.test(token);
}

// A bare number too: ANSYS 2025 clients print one (a process id) after the display, whose
// name need not start with the host's (`root nib110.hpc n110.hpc 1896957 (v2025.0506)`).
function looksLikeExtra(token: string): boolean {
  return /^\d+(\.\d+)*$/.test(token) || /^[\w.-]+=/.test(token) || /^[A-Za-z]\w*:[A-Za-z][\w-]*$/.test(token);
}

/**
 * Splits `USER HOST [DISPLAY {EXTRA}]`. HOST is the token before the display when the display
 * looks like one (`/dev/…`, `host:0.0`) or repeats the host (`GM-007028 GM-007028`,
 * `server034 server0340`); otherwise extras are dropped from the right and the last two
 * tokens are HOST DISPLAY. With only two tokens there is no display (`user2 host-01`).
 * `vendor`: the line's vendor daemon, if known — a client may write its name as an extra token
 * (DOORS: `rebecca.woodard.ext doorsts VIC-HUD-L017 telelogic (v2009.0602)`), and no display is named so.
 */
export function splitUserHostDisplay(left: string, vendor?: string): { user: string; host: string; display?: string; extra: string[] } {
  const tokens = left.trim().split(/\s+/);
  if (tokens.length <= 2) return { user: tokens[0] ?? "", host: tokens[1] ?? "", extra: [] };
  for (let d = tokens.length - 1; d >= 2; d--) {
    const display = tokens[d]!;
    const host = tokens[d - 1]!;
    if (looksLikeDisplay(display) || display.toLowerCase().startsWith(host.toLowerCase())) {
      return { user: tokens.slice(0, d - 1).join(" "), host, display, extra: tokens.slice(d + 1) };
    }
  }
  let end = tokens.length;
  const daemon = vendor?.toLowerCase();
  while (end > 3 && (looksLikeExtra(tokens[end - 1]!) || tokens[end - 1]!.toLowerCase() === daemon)) end--;
  return {
    user: tokens.slice(0, end - 2).join(" "),
    host: tokens[end - 2]!,
    display: tokens[end - 1]!,
    extra: tokens.slice(end),
  };
}

/** One user line; `vendor` (the sub-block's, else the only vendor daemon up) helps split its names. */
export function parseUserLine(line: string, vendor?: string): LmstatUserLine | undefined {
  const m = TAIL.exec(line) ?? noVersion(line) ?? noHandle(line);
  if (!m) return undefined;
  const who = splitUserHostDisplay(m[1]!, vendor);
  const start: YearlessStamp = { weekday: m[6]!, month: +m[7]!, day: +m[8]!, hour: +m[9]!, minute: +m[10]! };
  if (m[11] !== undefined) start.second = +m[11];
  // Fields in the order they have always had (no spreads: this runs once per holder of a large output).
  const parsed: LmstatUserLine = who.display === undefined
    ? { user: who.user, host: who.host, extra: who.extra, clientVersion: m[2]!, server: m[3]!, port: m[4]!, handle: m[5]!, start, count: 1, leftover: "" }
    : { user: who.user, host: who.host, display: who.display, extra: who.extra, clientVersion: m[2]!, server: m[3]!, port: m[4]!, handle: m[5]!, start, count: 1, leftover: "" };
  let rest = m[12]!;
  for (let progress = true; rest.length > 0 && progress; ) {
    progress = false;
    for (const [re, apply] of SUFFIXES) {
      const s = re.exec(rest);
      if (s) { apply(s, parsed); rest = rest.slice(s[0].length); progress = true; }
    }
  }
  parsed.leftover = rest.trim();
  return parsed;
}

/** A line without `(vX)`, matched as TAIL would match it with an empty client version. */
function noVersion(line: string): RegExpExecArray | null {
  const m = TAIL_NO_VERSION.exec(line);
  if (m) m.splice(2, 0, "");
  return m;
}

/** A line without `(server/port handle)`, matched as TAIL would match it with them empty. */
function noHandle(line: string): RegExpExecArray | null {
  const m = TAIL_NO_HANDLE.exec(line);
  if (m) m.splice(2, 1, m[2] ?? "", "", "", "");
  return m;
}

export function parseQueuedLine(line: string, vendor?: string): { user: string; host: string; count: number } | undefined {
  const m = QUEUED.exec(line);
  if (!m) return undefined;
  const who = splitUserHostDisplay(m[1]!, vendor);
  return { user: who.user, host: who.host, count: Number(m[6]) };
}

/** Token pools (MSC): an extra token `POOL:PRODUCT` naming the pool of the feature → the product. */
export function poolProduct(feature: string, extra: string[]): string | undefined {
  for (const token of extra) {
    const colon = token.indexOf(":");
    if (colon > 0 && colon < token.length - 1 && token.slice(0, colon).toLowerCase() === feature.toLowerCase()) return token.slice(colon + 1);
  }
  return undefined;
}
