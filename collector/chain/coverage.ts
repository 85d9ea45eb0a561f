// What the chain already holds, so importing the same usage twice adds nothing (backfill is
// idempotent, and a backfill of a log the daemon already tailed adds nothing either).
//
// Usage is identified by (source, session): we keep the end of the last interval appended per
// session. An interval ending at or before it is already covered; one that reaches past it (a
// file that grew while a session was still open) is appended from that end on, as the daemon
// would report a long session in consecutive pieces. Denials are identified by the hash of
// their whole data. Heartbeats and key rotations are never deduplicated.
//
// Persisted with `through_seq`, the last log seq folded in; records appended after that (a crash
// before the save) are folded again from the log at open, before anything can be released.
import { canonicalJson, sha256Hex, type ChainRecord, type RecordBody, type UsageData } from "../../shared/protocol/index.ts";
import { readJsonFile, writeJsonFile } from "../state/json-file.ts";

const FORMAT = "tally-coverage/v1";
const encoder = new TextEncoder();

interface Stored { format: string; through_seq: number; sessions: Record<string, number>; denials: string[] }

export class Coverage {
  throughSeq: number;
  readonly #sessions: Map<string, number>;
  readonly #denials: Set<string>;

  private constructor(stored: Stored) {
    this.throughSeq = stored.through_seq;
    this.#sessions = new Map(Object.entries(stored.sessions));
    this.#denials = new Set(stored.denials);
  }

  static empty(): Coverage {
    return new Coverage({ format: FORMAT, through_seq: 0, sessions: {}, denials: [] });
  }

  static async load(path: string): Promise<Coverage> {
    const stored = await readJsonFile<Stored>(path);
    return stored?.format === FORMAT ? new Coverage(stored) : Coverage.empty();
  }

  async save(path: string): Promise<void> {
    const stored: Stored = { format: FORMAT, through_seq: this.throughSeq, sessions: Object.fromEntries(this.#sessions), denials: [...this.#denials] };
    await writeJsonFile(path, stored);
  }

  /** Notes a record that is now in the chain. */
  fold(record: ChainRecord): void {
    if (record.seq <= this.throughSeq) return;
    this.throughSeq = record.seq;
    if (record.kind === "usage") {
      const d = record.data as UsageData;
      const key = sessionKey(d);
      this.#sessions.set(key, Math.max(this.#sessions.get(key) ?? -Infinity, d.end));
    } else if (record.kind === "denial") {
      this.#denials.add(denialId(record.data));
    }
  }

  /** The part of `body` the chain does not hold yet: the body, a trimmed usage interval, or null. */
  admit(body: RecordBody): RecordBody | null {
    if (body.kind === "usage") {
      const covered = this.#sessions.get(sessionKey(body.data));
      if (covered === undefined || body.data.start >= covered) return body;
      if (body.data.end <= covered) return null;
      return { kind: "usage", data: { ...body.data, start: covered } };
    }
    if (body.kind === "denial") return this.#denials.has(denialId(body.data)) ? null : body;
    return body;
  }

  sessions(): number {
    return this.#sessions.size;
  }
}

function sessionKey(d: { source: string; session: string }): string {
  return `${d.source}\n${d.session}`;
}

function denialId(data: unknown): string {
  return sha256Hex(encoder.encode(canonicalJson(data))).slice(0, 32);
}
