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
  | "last_edge_key"
  // exit 1
  | "check_failed"
  | "flagged"
  | "equivocation"
  | "edge_regressed"
  | "revoked"
  | "receipt_refused"
  | "batch_refused"
  | "io_error"
  // exit 3
  | "edge_unreachable";

const exitByCode: Record<CollectorErrorCode, ExitStatus> = {
  usage: 2, not_initialised: 2, already_initialised: 2, bad_state: 2, bad_config: 2, bad_input: 2, enroll_refused: 2, last_edge_key: 2,
  check_failed: 1, flagged: 1, equivocation: 1, edge_regressed: 1, revoked: 1, receipt_refused: 1, batch_refused: 1, io_error: 1,
  edge_unreachable: 3,
};

/** What the machine refused to read or write (a full disk, a read-only or failing one, no permission). */
const IO_CODES: Record<string, string> = {
  ENOSPC: "no space left on the device", EDQUOT: "the disk quota is used up", EFBIG: "the file is too large for the file system",
  EIO: "the device failed to read or write", EROFS: "the file system is read-only", EACCES: "permission denied", EPERM: "operation not permitted",
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

/**
 * A file-system error (ENOSPC, EIO, EROFS, EACCES…) as a CollectorError with the stable code
 * `io_error` and its errno and path, else `thrown` as it is. The commands write what they must
 * before they acknowledge anything, so such a failure loses nothing: the same command, run again
 * once there is room (or the device or permission is fixed), goes on.
 */
export function asIoError(thrown: unknown): unknown {
  const e = thrown as NodeJS.ErrnoException;
  const what = typeof e?.code === "string" ? IO_CODES[e.code] : undefined;
  if (what === undefined) return thrown;
  const where = typeof e.path === "string" ? ` (${e.syscall ?? "using"} ${e.path})` : "";
  return new CollectorError("io_error", `${what}${where}: nothing acknowledged was lost; fix it and run the command again`, { errno: e.code, ...(typeof e.path === "string" ? { path: e.path } : {}) });
}
