// Per FlexLM daemon: the time of its last line and of the last `alive` told for it. Any line of a
// vendor daemon proves it was running then; the tracker is told so at most once a minute, and at
// the daemon's last line before a restart and at the end of input, so that no session is billed
// past what its daemon's lines prove.
import type { SourceEvent } from "./events.ts";

const ALIVE_EVERY_MS = 60_000;

interface Lines { lastLineAt: number; lastAliveAt: number }

export class DaemonLines {
  private lines = new Map<string, Lines>();
  // Most lines come from the same daemon as the one before.
  private lastDaemon = "";
  private lastLines: Lines = { lastLineAt: -Infinity, lastAliveAt: -Infinity };

  /** A usage line of `daemon` at `at` (its event tells the tracker itself). */
  lineAt(daemon: string, at: number): void {
    this.of(daemon).lastLineAt = at;
  }

  /** Any other line of `daemon` at `at`: an `alive`, at most once a minute (or when time went back). */
  alive(at: number, daemon: string, out: SourceEvent[]): void {
    const lines = this.of(daemon);
    lines.lastLineAt = at;
    if (at - lines.lastAliveAt >= ALIVE_EVERY_MS || at < lines.lastAliveAt) {
      lines.lastAliveAt = at;
      out.push({ type: "alive", at, daemon });
    }
  }

  /** Before a restart of `daemon` (undefined: of the server): each one's last line, as an `alive`. */
  lastLinesOf(daemon: string | undefined, out: SourceEvent[]): void {
    for (const [d, l] of this.lines) if ((daemon === undefined || d === daemon) && l.lastLineAt !== -Infinity) out.push({ type: "alive", at: l.lastLineAt, daemon: d });
  }

  /** End of input: each daemon's last line proves it ran until then. */
  end(out: SourceEvent[]): void {
    for (const [daemon, l] of this.lines) {
      if (l.lastLineAt > l.lastAliveAt) {
        l.lastAliveAt = l.lastLineAt;
        out.push({ type: "alive", at: l.lastLineAt, daemon });
      }
    }
  }

  /** The server restarted: what the daemons wrote before belongs to its previous run. */
  clear(): void {
    this.lines.clear();
    this.lastDaemon = "";
  }

  save(): { lastLineAt: Record<string, number>; lastAliveAt: Record<string, number> } {
    return {
      lastLineAt: Object.fromEntries([...this.lines].filter(([, l]) => l.lastLineAt !== -Infinity).map(([d, l]) => [d, l.lastLineAt])),
      lastAliveAt: Object.fromEntries([...this.lines].filter(([, l]) => l.lastAliveAt !== -Infinity).map(([d, l]) => [d, l.lastAliveAt])),
    };
  }

  restore(lastLineAt: Record<string, number>, lastAliveAt: Record<string, number>): void {
    this.clear();
    for (const [d, at] of Object.entries(lastLineAt)) this.of(d).lastLineAt = at;
    for (const [d, at] of Object.entries(lastAliveAt)) this.of(d).lastAliveAt = at;
  }

  private of(daemon: string): Lines {
    if (daemon === this.lastDaemon) return this.lastLines;
    let lines = this.lines.get(daemon);
    if (lines === undefined) this.lines.set(daemon, (lines = { lastLineAt: -Infinity, lastAliveAt: -Infinity }));
    this.lastDaemon = daemon;
    this.lastLines = lines;
    return lines;
  }
}
