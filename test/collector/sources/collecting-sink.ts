// A UsageSink for tests: what the parse worker's packer does with a checkout or check-in written to
// it (worker-link.ts), as event objects — the events already in `out` first, then this one, made as
// the debug-log source makes it on its long way (flexlm-holders.ts `eventOf`).
import type { CheckinReason, SourceEvent, UsageSink, UsageWho } from "../../../collector/sources/events.ts";

export class CollectingSink implements UsageSink {
  /** Usage lines written to the sink rather than to `out`. */
  written = 0;
  private readonly into: (e: SourceEvent) => void;

  constructor(into: (e: SourceEvent) => void) {
    this.into = into;
  }

  usage(out: SourceEvent[], checkin: boolean, at: number, daemon: string, who: UsageWho, count: number, handle: string | undefined, reason: CheckinReason | undefined): void {
    for (const e of out) this.into(e);
    out.length = 0;
    const holder = { daemon, feature: who.feature, user: who.user, host: who.host, count };
    const event: SourceEvent = checkin ? { type: "checkin", at, ...holder, reason: reason! } : { type: "checkout", at, ...holder };
    if (handle !== undefined) event.handle = handle;
    if (who.product !== undefined) event.product = who.product;
    this.written++;
    this.into(event);
  }
}
