// The one error type of the collector's log: callers match on `code`, never on the message.

export type LogErrorCode =
  /** Damage that is not a torn tail: bad frame, wrong seq, missing segment, cursor ahead of the log. */
  | "log_corrupt"
  /** Another live process holds the state dir's lock. */
  | "log_locked"
  /** Used after close(), or after a failed append whose rollback also failed: reopen to recover. */
  | "log_closed"
  | "payload_too_large"
  | "ack_backwards"
  | "ack_beyond_log"
  /** read() from a seq whose segment release() already removed. */
  | "seq_released"
  /** forget() below the acked seq: receipted entries are never removed that way. */
  | "forget_acked"
  | "invalid_argument";

export class LogError extends Error {
  readonly code: LogErrorCode;
  /** Segment file name (not path) and byte offset inside it, for `log_corrupt`. */
  readonly segment: string | undefined;
  readonly offset: number | undefined;

  constructor(code: LogErrorCode, message: string, where?: { segment?: string; offset?: number }) {
    super(message);
    this.name = "LogError";
    this.code = code;
    this.segment = where?.segment;
    this.offset = where?.offset;
  }
}

export function corrupt(segment: string, offset: number, what: string): LogError {
  return new LogError("log_corrupt", `${segment} at byte ${offset}: ${what}`, { segment, offset });
}
