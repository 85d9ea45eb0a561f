// The records of one step of a line source's reading (line-reader.ts): taken from the session
// tracker as each slice completes them, up to the step's budget, and the rule that ends a step's
// reading early. A step stops before a slice like its last one would take it past the budget (the
// next step reads on in the same run of slices, line-slices.ts): what stays queued, and so in the
// saved state, is what a slice completed beyond the budget — none unless it completed more than the
// slice before it, and never more than one slice's. Before, a step read its whole 4 MiB whatever it
// completed, and a log of thousands of licenses held at once (several times the budget in 4 MiB)
// left the rest queued in every step's state, cloned and written with each. A log that completes
// fewer records than the budget reads its steps whole, as before.
import type { RecordBody } from "../sessions/records.ts";
import type { SessionTracker } from "../sessions/session-tracker.ts";

export class StepRecords {
  /** The records taken, when no `onRecords` takes them as they come. */
  readonly bodies: RecordBody[] = [];
  readonly #tracker: SessionTracker;
  readonly #onRecords: ((bodies: RecordBody[]) => void) | undefined;
  /** Records the step may still take. */
  #budget: number;
  /** The budget as of the last slice's end. */
  #before: number;

  constructor(tracker: SessionTracker, max: number, onRecords: ((bodies: RecordBody[]) => void) | undefined) {
    this.#tracker = tracker;
    this.#onRecords = onRecords;
    this.#budget = max;
    this.#before = max;
  }

  /** What the tracker has queued, within the budget: to `onRecords`, or kept in `bodies`. */
  take(): void {
    if (this.#budget <= 0) return;
    const bodies = this.#tracker.take(this.#budget);
    if (bodies.length === 0) return;
    this.#budget -= bodies.length;
    if (this.#onRecords) this.#onRecords(bodies);
    else for (const body of bodies) this.bodies.push(body);
  }

  /** At a slice's end, its records taken: whether a slice like it would overrun the budget. */
  spent(): boolean {
    const slice = this.#before - this.#budget;
    this.#before = this.#budget;
    return this.#budget <= 0 || this.#budget < slice;
  }
}
