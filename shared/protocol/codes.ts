// Stable error codes of protocol v1 (DESIGN.md §4) and the HTTP status each maps to.

export const protocolErrorStatus = {
  malformed: 400,
  bad_signature: 401,
  unknown_collector: 403,
  revoked: 403,
  collector_mismatch: 403,
  gap: 409,
  prev_mismatch: 409,
  equivocation: 409,
  batch_too_large: 413,
  record_too_large: 413,
} as const;

export type ProtocolErrorCode = keyof typeof protocolErrorStatus;

export interface ProtocolError {
  error: ProtocolErrorCode;
  message: string;
  /** `gap`: the seq the edge expects next. */
  expected_seq?: number;
  /** `prev_mismatch`, `equivocation`, `record_too_large`: the first offending seq. */
  seq?: number;
}

export function protocolError(error: ProtocolErrorCode, message: string, extra: Partial<ProtocolError> = {}): ProtocolError {
  return { error, message, ...extra };
}
