// The marked block site-side enforcement owns in a license manager's options file (issue #14):
//
//   # BEGIN tally enforcement
//   EXCLUDE MATLAB INTERNET *.*.*.*
//   # END tally enforcement
//
// Everything outside the block is the site's and is kept byte for byte: the file is handled as
// bytes (latin1 maps each byte to one char and back), so any encoding, CRLF or LF, and a missing
// final newline survive. The block's own lines take the file's line ending (CRLF when its first
// line ends in CRLF). Only one thing is added to the site's bytes: when the file does not end in a
// line break, one is added before an appended block (and stays when the block goes).
//
// Syntax: FlexLM `EXCLUDE feature INTERNET *.*.*.*` (every IPv4 client); RLM's ISV options file
// `EXCLUDE product internet *.*.*.*` (RLM documents `*` wildcards for internet addresses, not for
// user names; everything in an RLM options file is case-insensitive).

export const BLOCK_BEGIN = "# BEGIN tally enforcement";
export const BLOCK_END = "# END tally enforcement";

export type ManagerKind = "flexlm" | "rlm";

/** A name that can stand alone as an options-file token: no whitespace, quotes, `#`, `<>&`. */
const FEATURE = /^[A-Za-z0-9_][A-Za-z0-9_.+:-]{0,127}$/;

export function isOptionsToken(feature: string): boolean {
  return FEATURE.test(feature);
}

/** The block's exclusion lines, one per feature (sorted, deduplicated). Throws on a bad name. */
export function exclusionLines(kind: ManagerKind, features: readonly string[]): string[] {
  const sorted = [...new Set(features)].sort();
  for (const f of sorted) if (!isOptionsToken(f)) throw new RangeError(`feature ${JSON.stringify(f)} cannot be written to an options file`);
  return sorted.map((f) => (kind === "flexlm" ? `EXCLUDE ${f} INTERNET *.*.*.*` : `EXCLUDE ${f} internet *.*.*.*`));
}

interface Found { start: number; end: number }

/** The byte range of the block's lines (from its BEGIN line's start to after its END line's
 *  break), or null. A BEGIN without an END is refused: the file was edited by hand. */
function findBlock(text: string): Found | null {
  let start = -1;
  let at = 0;
  while (at < text.length) {
    const nl = text.indexOf("\n", at);
    const lineEnd = nl === -1 ? text.length : nl + 1;
    const line = text.slice(at, nl === -1 ? text.length : nl).replace(/\r$/, "").trim();
    if (start === -1 && line === BLOCK_BEGIN) start = at;
    else if (start !== -1 && line === BLOCK_END) return { start, end: lineEnd };
    else if (start !== -1 && line === BLOCK_BEGIN) throw new Error(`the options file has two "${BLOCK_BEGIN}" lines without "${BLOCK_END}" between them`);
    at = lineEnd;
  }
  if (start !== -1) throw new Error(`the options file has "${BLOCK_BEGIN}" but no "${BLOCK_END}" after it`);
  return null;
}

/** The block's exclusion lines as they are in `text` (null when there is no block). */
export function currentBlock(bytes: Uint8Array): string[] | null {
  const text = Buffer.from(bytes).toString("latin1");
  const found = findBlock(text);
  if (!found) return null;
  return text.slice(found.start, found.end).split("\n").map((l: string) => l.replace(/\r$/, ""))
    .filter((l: string) => l.trim() !== "" && l.trim() !== BLOCK_BEGIN && l.trim() !== BLOCK_END);
}

/**
 * `bytes` with the block holding `lines` (none: no block at all), or null when the file already
 * is exactly that (nothing to write, nothing to reread).
 */
export function withBlock(bytes: Uint8Array, lines: readonly string[]): Uint8Array | null {
  const text = Buffer.from(bytes).toString("latin1");
  const found = findBlock(text);
  const firstBreak = text.indexOf("\n");
  const eol = firstBreak > 0 && text[firstBreak - 1] === "\r" ? "\r\n" : "\n";
  const block = lines.length === 0 ? "" : [BLOCK_BEGIN, ...lines, BLOCK_END].map((l) => l + eol).join("");
  let next: string;
  if (found) {
    next = text.slice(0, found.start) + block + text.slice(found.end);
  } else if (block === "") {
    return null;
  } else {
    const needsBreak = text.length > 0 && !text.endsWith("\n");
    next = text + (needsBreak ? eol : "") + block;
  }
  return next === text ? null : new Uint8Array(Buffer.from(next, "latin1"));
}
