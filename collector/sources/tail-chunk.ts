// What a FileTail read returns (tail.ts): complete lines as text blocks, decoded in the file's
// encoding, counted; and which encodings a line source can be read in.
import { linesOf } from "./line-blocks.ts";

const LF = 10;

export interface TailChunk {
  /** The complete lines read, in blocks of ~64 KiB decoded one by one (line-blocks.ts): each line ended by LF
   *  (CRs kept), the last one's LF missing only for a file's unterminated end (readRest, a rotated file).
   *  A parser reads a block without cutting it into lines. */
  blocks: string[];
  /** The blocks as one text. */
  readonly text: string;
  /** How many lines `text` holds. */
  lineCount: number;
  /** The same lines as strings, without their terminators (cut from `text` when asked for). */
  readonly lines: string[];
  /** Bytes consumed by this read (complete lines only). */
  bytes: number;
  /** The file had nothing more to give after this read (as of its stat). */
  caughtUp: boolean;
  /** The file does not exist (yet). */
  missing?: boolean;
}

/** Why `label` cannot be a line source's encoding, or null when it can. */
export function lineEncodingProblem(label: string): string | null {
  let name: string;
  try {
    name = new TextDecoder(label).encoding;
  } catch {
    return `unknown encoding ${JSON.stringify(label)} (use a WHATWG label: utf-8, windows-1252, iso-8859-15, shift_jis, gbk…)`;
  }
  if (name.startsWith("utf-16")) return `${name} is not line-compatible: log lines are split on the byte 0x0A; convert the log to UTF-8`;
  return null;
}

/** A chunk of lines as text blocks, counted; joined or cut into line strings only if `text` or `lines` is read. */
export function chunkOf(blocks: string[], bytes: number, caughtUp: boolean, missing?: true): TailChunk {
  let lineCount = 0;
  for (const text of blocks) for (let p = text.indexOf("\n"); p >= 0; p = text.indexOf("\n", p + 1)) lineCount++;
  const last = blocks.at(-1);
  if (last !== undefined && last !== "" && last.charCodeAt(last.length - 1) !== LF) lineCount++;
  return {
    blocks, lineCount, bytes, caughtUp, ...(missing ? { missing } : {}),
    get text(): string {
      return blocks.join("");
    },
    get lines(): string[] {
      return linesOf(blocks.join(""));
    },
  };
}

export function decoderFor(label: string): (bytes: Buffer) => string {
  const decoder = new TextDecoder(label, { fatal: false, ignoreBOM: true });
  if (decoder.encoding === "utf-8") return (bytes) => bytes.toString("utf8");
  return (bytes) => decoder.decode(bytes);
}
