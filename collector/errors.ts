// The collector's one error type for commands: a stable `code` callers match on, and the exit
// status it maps to (DESIGN.md §9: 1 a check failed, 2 usage or config error, 3 edge unreachable).

export type ExitStatus = 0 | 1 | 2 | 3;

export type CollectorErrorCode =
  // exit 2
  | "usage"
  | "not_initialised"
  | "already_initialised"
  | "bad_state"
  | "bad_config"
  | "bad_input"
  | "enroll_refused"
  // exit 1
  | "check_failed"
  | "flagged"
  | "equivocation"
  | "edge_regressed"
  | "revoked"
  | "receipt_refused"
  | "batch_refused"
  // exit 3
  | "edge_unreachable";

const exitByCode: Record<CollectorErrorCode, ExitStatus> = {
  usage: 2, not_initialised: 2, already_initialised: 2, bad_state: 2, bad_config: 2, bad_input: 2, enroll_refused: 2,
  check_failed: 1, flagged: 1, equivocation: 1, edge_regressed: 1, revoked: 1, receipt_refused: 1, batch_refused: 1,
  edge_unreachable: 3,
};

export class CollectorError extends Error {
  readonly code: CollectorErrorCode;
  readonly exit: ExitStatus;
  /** Extra facts for `--json` output (seq, expected_seq, the edge's error code…). */
  readonly details: Record<string, unknown>;

  constructor(code: CollectorErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = "CollectorError";
    this.code = code;
    this.exit = exitByCode[code];
    this.details = details;
  }
}
