// Bytes → complete text lines: UTF-8 decoded across chunk boundaries, LF or CRLF, a leading BOM
// dropped. A line is only returned once its terminator arrived; the rest waits for more bytes.
import { StringDecoder } from "node:string_decoder";

export class LineSplitter {
  private decoder = new StringDecoder("utf8");
  private rest = "";
  private atStart = true;

  /** The complete lines in `chunk` (plus what was pending). */
  push(chunk: Uint8Array): string[] {
    let text = this.rest + this.decoder.write(chunk as Buffer);
    if (this.atStart && text.length > 0) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const lines = text.split("\n");
    this.rest = lines.pop()!;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (l.endsWith("\r")) lines[i] = l.slice(0, -1);
    }
    return lines;
  }

  /** End of input: the unterminated last line, if any. */
  end(): string[] {
    const last = this.rest + this.decoder.end();
    this.rest = "";
    return last === "" ? [] : [last.endsWith("\r") ? last.slice(0, -1) : last];
  }
}
