// The daemon's view of the edge: whether it answered the last sync (online), when to try next, and
// whether syncing is stopped until a person acts (a trust flag: equivocation, an edge that forgot
// receipts, a revoked or refused collector). While the edge does not answer, tries back off from
// sync_s up to 15 minutes (or sync_s, when longer); while it answers and records are pending, the
// next sync is at once.
export const MAX_OFFLINE_RETRY_MS = 15 * 60_000;

export interface EdgeLinkView {
  /** null until the first attempt. */
  online: boolean | null;
  stopped: { code: string; message: string; at: number } | null;
  last_attempt: number | null;
  last_success: number | null;
  last_error: { at: number; code: string; message: string } | null;
  consecutive_failures: number;
  next_at: number;
}

export class EdgeLink {
  readonly view: EdgeLinkView = {
    online: null, stopped: null, last_attempt: null, last_success: null, last_error: null, consecutive_failures: 0, next_at: 0,
  };
  readonly #syncMs: number;

  constructor(syncS: number) {
    this.#syncMs = syncS * 1000;
  }

  due(now: number): boolean {
    return this.view.stopped === null && this.view.next_at <= now;
  }

  /** Cut open sessions at `now` before this sync? Only while the edge answers (DESIGN.md §4). */
  online(): boolean {
    return this.view.online === true;
  }

  attempted(now: number): void {
    this.view.last_attempt = now;
  }

  succeeded(now: number, morePending: boolean): void {
    Object.assign(this.view, { online: true, last_success: now, consecutive_failures: 0, next_at: morePending ? now : now + this.#syncMs });
  }

  /** The edge did not answer, or refused in a way a later try may fix. */
  failed(now: number, code: string, message: string, offline: boolean): void {
    const v = this.view;
    if (offline) v.online = false;
    v.consecutive_failures++;
    v.last_error = { at: now, code, message };
    // Backing off never tries sooner than sync_s (a site that syncs hourly is not tried every 15 minutes offline).
    v.next_at = now + Math.min(Math.max(MAX_OFFLINE_RETRY_MS, this.#syncMs), this.#syncMs * 2 ** Math.min(v.consecutive_failures - 1, 20));
  }

  stop(now: number, code: string, message: string): void {
    this.view.stopped = { code, message, at: now };
    this.view.last_error = { at: now, code, message };
  }
}
