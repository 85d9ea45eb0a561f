// Progress of a long import on stderr: a redrawn bar with rate and ETA when stderr is a TTY,
// otherwise a plain line now and then (logs stay readable). Bytes when the parser reports its
// position, records otherwise.

export interface ProgressSink { write(text: string): unknown; isTTY?: boolean; columns?: number }

export class ImportProgress {
  readonly #out: ProgressSink;
  readonly #totalBytes: number;
  readonly #clock: () => number;
  readonly #started: number;
  #records = 0;
  #appended = 0;
  #bytes = 0;
  #lastDraw = 0;

  constructor(out: ProgressSink, totalBytes: number, clock: () => number = Date.now) {
    this.#out = out;
    this.#totalBytes = totalBytes;
    this.#clock = clock;
    this.#started = clock();
    this.#lastDraw = this.#started;
  }

  /** The parser's read position, when it reports one. */
  bytes(position: number): void {
    this.#bytes = position;
    this.#maybeDraw();
  }

  records(parsed: number, appended: number): void {
    this.#records = parsed;
    this.#appended = appended;
    this.#maybeDraw();
  }

  done(): void {
    if (this.#out.isTTY) this.#out.write(`\r${this.#line(true)}\n`);
    else this.#out.write(`${this.#line(true)}\n`);
  }

  #maybeDraw(): void {
    const now = this.#clock();
    const every = this.#out.isTTY ? 100 : 5000;
    if (now - this.#lastDraw < every) return;
    this.#lastDraw = now;
    this.#out.write(this.#out.isTTY ? `\r${this.#line(false)}\x1b[K` : `${this.#line(false)}\n`);
  }

  #line(final: boolean): string {
    const seconds = Math.max((this.#clock() - this.#started) / 1000, 0.001);
    const rate = Math.round(this.#records / seconds);
    const counts = `${this.#records} records parsed, ${this.#appended} new, ${rate}/s`;
    if (this.#bytes === 0 || this.#totalBytes === 0 || final) return final ? `backfill: ${counts}, ${seconds.toFixed(1)} s` : `backfill: ${counts}`;
    const fraction = Math.min(this.#bytes / this.#totalBytes, 1);
    const eta = fraction > 0 ? Math.round(seconds * (1 - fraction) / fraction) : 0;
    const width = Math.max(10, Math.min(40, (this.#out.columns ?? 80) - 70));
    const filled = Math.round(fraction * width);
    const bar = this.#out.isTTY ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` : "";
    return `backfill: ${bar}${(fraction * 100).toFixed(1)}% ${counts}, ETA ${eta} s`;
  }
}
