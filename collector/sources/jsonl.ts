// JSON Lines usage source: one finished session per line, for applications that report their
// own usage: {"feature", "user", "host", "start", "end", "count", "daemon"?, "version"?}.
// `start`/`end` are integer ms since the epoch or RFC 3339 strings with an explicit offset
// (`Z` or `±hh:mm`; a local time without offset is ambiguous and rejected). `count` defaults
// to 1, `daemon` to "jsonl". A line that is not such an object is counted as unknown.
import type { LineSource, ParseStats, SourceEvent, SourceOptions } from "./events.ts";

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const MAX_SAMPLES = 10;

export class JsonlSource implements LineSource {
  private readonly st: ParseStats = { lines: 0, events: 0, unknown_lines: 0, unknown_samples: [] };

  constructor(_opts: SourceOptions) {}

  push(rawLine: string): SourceEvent[] {
    this.st.lines++;
    const line = (rawLine.charCodeAt(0) === 0xfeff ? rawLine.slice(1) : rawLine).trim();
    if (line === "") return [];
    const session = parseSession(line);
    if (!session) {
      this.st.unknown_lines++;
      if (this.st.unknown_samples.length < MAX_SAMPLES) this.st.unknown_samples.push(line);
      return [];
    }
    const { start, end, ...holder } = session;
    this.st.events += 2;
    return [
      { type: "checkout", at: start, ...holder },
      { type: "checkin", at: end, ...holder, reason: "normal" },
    ];
  }

  end(): SourceEvent[] {
    return [];
  }

  stats(): ParseStats {
    return this.st;
  }
}

function parseSession(line: string) {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? v : undefined);
  const feature = text(r.feature), user = text(r.user), host = text(r.host);
  const daemon = r.daemon === undefined ? "jsonl" : text(r.daemon);
  const version = r.version === undefined ? undefined : text(r.version);
  const count = r.count === undefined ? 1 : r.count;
  const start = instant(r.start), end = instant(r.end);
  if (!feature || !user || !host || !daemon || (r.version !== undefined && !version)) return undefined;
  if (typeof count !== "number" || !Number.isSafeInteger(count) || count < 1) return undefined;
  if (start === undefined || end === undefined || end <= start) return undefined;
  return { daemon, feature, ...(version ? { version } : {}), user, host, count, start, end };
}

function instant(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== "string" || !RFC3339.test(v)) return undefined;
  const ms = Date.parse(v.replace(" ", "T"));
  return Number.isFinite(ms) ? ms : undefined;
}
