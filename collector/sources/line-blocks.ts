// Text of complete lines → a line source, a slice of ~1,000 lines at a time: its events and
// records die young (cheap to collect); a whole 1–4 MB chunk's would outlive a young-generation
// collection and be copied. Sources that read a block at once (`pushText`) get the slice as it is;
// others get it line by line. Used by `parse`/`backfill` (parse-file.ts) and `run` (LineReader).
import type { LineSource, SourceEvent } from "./events.ts";

/** Characters of a slice, about. */
const SLICE = 64 * 1024;

/** Where the slice of `text` that starts at `p` ends: after the first LF past SLICE characters, or at the end. */
export function sliceEnd(text: string, p: number): number {
  return text.length - p <= SLICE ? text.length : text.indexOf("\n", p + SLICE) + 1 || text.length;
}

/** A block of complete lines (each ended by LF, CRs dropped; the last one's LF may be missing) into the source. */
export function readBlock(source: LineSource, block: string, out: SourceEvent[]): void {
  if (block === "") return;
  if (source.pushText) {
    source.pushText(block, out);
    return;
  }
  const lines = block.split("\n");
  if (block.endsWith("\n")) lines.pop();
  for (const line of lines) for (const e of source.push(line.endsWith("\r") ? line.slice(0, -1) : line)) out.push(e);
}
