// Bytes → complete text lines: UTF-8 or another encoding a line source can be read in (the byte
// 0x0A is LF in each and never inside a multi-byte character, so bytes are cut at the last LF and
// decoded whole; tail-chunk.ts `lineEncodingProblem`), LF or CRLF, a leading BOM dropped, as
// FileTail reads them. A line is only returned once its terminator arrived; the rest waits for
// more bytes. The text of each chunk is decoded in one piece: a string glued from parts would be
// copied again by every search in it.
import { decoderFor } from "./tail-chunk.ts";

export class LineSplitter {
  private carry: Buffer = Buffer.alloc(0);
  private atStart = true;
  private readonly decode: (bytes: Buffer) => string;

  /** `encoding`: a WHATWG label (default utf-8). */
  constructor(encoding = "utf-8") {
    this.decode = decoderFor(encoding);
  }

  /** The complete lines in `chunk` (plus what was pending). */
  push(chunk: Uint8Array): string[] {
    const block = this.pushText(chunk);
    if (block === "") return [];
    const lines = block.split("\n");
    lines.pop(); // the block ends with LF
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
    }
    return lines;
  }

  /**
   * The complete lines in `chunk` (plus what was pending) as one block of text, each line ended by
   * its LF (CRs kept), or "" when no line is complete yet: for sources that read a block at once.
   */
  pushText(chunk: Uint8Array): string {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const last = bytes.lastIndexOf(10);
    if (last < 0) {
      this.carry = Buffer.concat([this.carry, bytes]);
      return "";
    }
    const text = this.decode(this.carry.length === 0 ? bytes.subarray(0, last + 1) : Buffer.concat([this.carry, bytes.subarray(0, last + 1)]));
    this.carry = Buffer.from(bytes.subarray(last + 1));
    return this.afterBom(text);
  }

  /** End of input: the unterminated last line, if any. */
  end(): string[] {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    if (rest.length === 0) return [];
    const last = this.afterBom(this.decode(rest));
    return last === "" ? [] : [last.endsWith("\r") ? last.slice(0, -1) : last];
  }

  /** The file's first text without its byte-order mark (the text after it as it is). */
  private afterBom(text: string): string {
    if (!this.atStart || text === "") return text;
    this.atStart = false;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }
}
