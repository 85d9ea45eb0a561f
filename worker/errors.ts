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
  // EDGE_SIGNING_KEY, EDGE_SIGNING_KEYS_PREVIOUS or _REVOKED is not a valid configuration (auth/edge-key.ts).
  edge_misconfigured: 500,
  // The vendor and customer faces: API keys, content types.
  read_only_key: 403,
  last_full_access_key: 409,
  unsupported_media_type: 415,
  // The site face (DESIGN.md §4, §8): contract doc sync, bundles, revocation, fork resolution.
  doc_update_refused: 422,
  malformed_doc_message: 400,
  bundle_too_large: 413,
  nothing_to_resolve: 409,
  // Moving a site with its history between edges (routes/site-history.ts).
  collector_exists: 409,
  arrival_refused: 409,
  // Pricing (DESIGN.md §6): plans, plan versions, statements.
  invalid_plan: 422,
  period_closed: 409,
  // A contract's storage migrated by a newer build than this one (contract/storage-schema.ts).
  storage_too_new: 503,
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

// An error thrown inside a Durable Object reaches the Worker as a plain Error that keeps only its
// message: workerd carries no class across RPC, nor out of a constructor's blockConcurrencyWhile
// (which resets the object, so each later call gets the same error). The code travels in the message.
const crossingMark = /^edge_error\[([a-z_]+)\]: /;

/** An EdgeError for a Durable Object to throw whose code the Worker must still see (`crossedError`). */
export function crossingError(code: ErrorCode, message: string): EdgeError {
  return new EdgeError(code, `edge_error[${code}]: ${message}`);
}

/** The EdgeError `error` carried out of a Durable Object, if it is one (`crossingError`). */
export function crossedError(error: Error): EdgeError | undefined {
  const mark = crossingMark.exec(error.message);
  if (!mark || !Object.hasOwn(errorStatus, mark[1]!)) return undefined;
  return new EdgeError(mark[1] as ErrorCode, error.message.slice(mark[0].length));
}

/** `error` as the EdgeError it is, or carries out of a Durable Object (`crossedError`), if either:
 * what every error mapping (on-error.ts, the console's and the status page's) starts from. */
export function edgeErrorOf(error: Error): EdgeError | undefined {
  return error instanceof EdgeError ? error : crossedError(error);
}

export function errorBody(error: EdgeError): Record<string, unknown> {
  return { error: error.code, message: error.message, ...error.extra };
}
