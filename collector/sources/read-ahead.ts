// The next slice of a file being read in slices, read while the one before is parsed (as a stream
// reads ahead): a reader that awaited each read in turn waited for every one of them with nothing
// else to do. Used by FileTail.readOn; what it hands out is what a read of the same bytes at the
// time the read-ahead started returned.
import type { FileHandle } from "node:fs/promises";

interface Pending { fh: FileHandle; offset: number; size: number; bytes: Promise<Buffer | undefined> }

export class ReadAhead {
  #pending: Pending | undefined;

  /** Starts reading `size` bytes at `offset` (dropping a read-ahead not taken). */
  start(fh: FileHandle, offset: number, size: number): void {
    const buf = Buffer.allocUnsafe(size);
    // A failed read-ahead is forgotten: the read that would have taken it is made again, and fails there.
    const bytes = fh.read(buf, 0, size, offset).then(({ bytesRead }) => buf.subarray(0, bytesRead), () => undefined);
    this.#pending = { fh, offset, size, bytes };
  }

  /** The first `want` bytes at `offset` of `fh` (fewer where the file ended), if a read-ahead has
   *  them; undefined otherwise (read them). */
  async take(fh: FileHandle, offset: number, want: number): Promise<Buffer | undefined> {
    const p = this.#pending;
    this.#pending = undefined;
    if (p === undefined || p.fh !== fh || p.offset !== offset || want > p.size) return undefined;
    const bytes = await p.bytes;
    return bytes?.subarray(0, Math.min(want, bytes.length));
  }

  drop(): void {
    this.#pending = undefined;
  }
}
