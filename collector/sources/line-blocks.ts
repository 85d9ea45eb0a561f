// Text of complete lines → a line source, a slice of ~1,000 lines at a time: its events and
// records die young (cheap to collect); a whole 1–4 MB chunk's would outlive a young-generation
// collection and be copied. Sources that read a block at once (`pushText`) get the slice as it is;
// others get it line by line. Used by `parse`/`backfill` (parse-file.ts) and `run` (LineReader).
import type { LineSource, SourceEvent } from "./events.ts";

/** Characters of a slice, about. */
const SLICE = 64 * 1024;

/** `text` in slices of whole lines, each ending after the first LF past SLICE characters (or at the end). */
export function* textSlices(text: string): Generator<string> {
  for (let p = 0; p < text.length; ) {
    const q = text.length - p <= SLICE ? text.length : text.indexOf("\n", p + SLICE) + 1 || text.length;
    yield p === 0 && q === text.length ? text : text.slice(p, q);
    p = q;
  }
}

/** The lines of a block (each ended by LF, the last one's LF may be missing), without their terminators (CRs dropped). */
export function linesOf(block: string): string[] {
  if (block === "") return [];
  const lines = block.split("\n");
  if (block.endsWith("\n")) lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
  }
  return lines;
}

/** A block of complete lines into the source. */
export function readBlock(source: LineSource, block: string, out: SourceEvent[]): void {
  if (block === "") return;
  if (source.pushText) {
    source.pushText(block, out);
    return;
  }
  for (const line of linesOf(block)) for (const e of source.push(line)) out.push(e);
}
