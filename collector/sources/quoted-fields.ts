// The fields of an RLM report log line (FORMATS.md §3.2): what `/"([^"]*)"|(\S+)/g` matches, read a
// character at a time — the regex and its match arrays were a tenth of a report log's parse.

/** Space-separated fields; double-quoted fields may contain spaces (`"project name"`). */
export function quotedFields(line: string): string[] {
  const out: string[] = [];
  const n = line.length;
  for (let i = 0; i < n; ) {
    const c = line.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 34) {
      const close = line.indexOf('"', i + 1);
      if (close >= 0) {
        out.push(line.slice(i + 1, close));
        i = close + 1;
        continue;
      }
    }
    let j = i + 1;
    while (j < n && !isSpace(line.charCodeAt(j))) j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

/** JavaScript's `\s`. */
function isSpace(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
