// Bytes → complete text lines: UTF-8 decoded across chunk boundaries, LF or CRLF, a leading BOM
// dropped. A line is only returned once its terminator arrived; the rest waits for more bytes.
import { StringDecoder } from "node:string_decoder";

export class LineSplitter {
  private decoder = new StringDecoder("utf8");
  private rest = "";
  private atStart = true;

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
    let text = this.decoder.write(chunk as Buffer);
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const last = text.lastIndexOf("\n");
    if (last < 0) {
      this.rest += text;
      return "";
    }
    const block = this.rest + text.slice(0, last + 1);
    this.rest = text.slice(last + 1);
    return block;
  }

  /** End of input: the unterminated last line, if any. */
  end(): string[] {
    const last = this.rest + this.decoder.end();
    this.rest = "";
    return last === "" ? [] : [last.endsWith("\r") ? last.slice(0, -1) : last];
  }
}
