// The edge's one error type: a stable `code` clients match on, mapped to its HTTP status and
// to the body `{error, message, …}` in one place (`errorResponse`).
import { protocolErrorStatus } from "../shared/protocol/index.ts";

const apiErrorStatus = {
  not_found: 404,
  unauthorized: 401,
  invalid_request: 422,
  too_large: 413,
  idempotency_conflict: 409,
  idempotency_in_progress: 409,
  clock_injection_refused: 400,
  invalid_enrollment_token: 401,
  enrollment_token_used: 409,
  enrollment_token_expired: 410,
  internal: 500,
} as const;

export const errorStatus = { ...protocolErrorStatus, ...apiErrorStatus } as const;
export type ErrorCode = keyof typeof errorStatus;
export type ErrorStatus = (typeof errorStatus)[ErrorCode];

export class EdgeError extends Error {
  readonly code: ErrorCode;
  /** Extra body fields, e.g. `expected_seq` for a gap or `field` for an invalid request. */
  readonly extra: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.extra = extra;
  }

  get status(): ErrorStatus {
    return errorStatus[this.code];
  }
}

export function errorBody(error: EdgeError): Record<string, unknown> {
  return { error: error.code, message: error.message, ...error.extra };
}
