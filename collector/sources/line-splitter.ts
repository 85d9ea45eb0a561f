// Bytes → complete text lines: UTF-8 (a line feed byte never occurs inside a multi-byte
// character, so bytes are cut at the last LF and decoded whole), LF or CRLF, a leading BOM
// dropped. A line is only returned once its terminator arrived; the rest waits for more bytes.
// The text of each chunk is decoded in one piece: a string glued from parts would be copied
// again by every search in it.

const BOM = [0xef, 0xbb, 0xbf];

export class LineSplitter {
  private carry: Buffer = Buffer.alloc(0);
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
    let bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.atStart) {
      if (this.carry.length + bytes.length < BOM.length) {
        this.carry = Buffer.concat([this.carry, bytes]);
        return "";
      }
      this.atStart = false;
      bytes = Buffer.concat([this.carry, bytes]);
      this.carry = Buffer.alloc(0);
      if (BOM.every((b, i) => bytes[i] === b)) bytes = bytes.subarray(BOM.length);
    }
    const last = bytes.lastIndexOf(10);
    if (last < 0) {
      this.carry = Buffer.concat([this.carry, bytes]);
      return "";
    }
    const text = this.carry.length === 0 ? bytes.toString("utf8", 0, last + 1) : Buffer.concat([this.carry, bytes.subarray(0, last + 1)]).toString("utf8");
    this.carry = Buffer.from(bytes.subarray(last + 1));
    return text;
  }

  /** End of input: the unterminated last line, if any. */
  end(): string[] {
    const rest = this.carry;
    this.carry = Buffer.alloc(0);
    if (this.atStart && rest.length > 0) {
      this.atStart = false;
      const text = (BOM.every((b, i) => rest[i] === b) ? rest.subarray(BOM.length) : rest).toString("utf8");
      return text === "" ? [] : [text.endsWith("\r") ? text.slice(0, -1) : text];
    }
    if (rest.length === 0) return [];
    const last = rest.toString("utf8");
    return [last.endsWith("\r") ? last.slice(0, -1) : last];
  }
}
