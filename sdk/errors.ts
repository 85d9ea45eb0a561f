// The edge's errors, typed: every error answer is `{error, message, …}` with a stable `error`
// code (DESIGN.md §7) — `ErrorCode` is the union the edge's OpenAPI document lists. `unwrap`
// turns an openapi-fetch result into its data, or throws a `TallyApiError` carrying that code.
import type { components } from "./openapi.ts";

export type ErrorBody = components["schemas"]["Error"];
export type ErrorCode = ErrorBody["error"];

export class TallyApiError extends Error {
  /** The stable code; `unexpected_response` when the answer was not the edge's error JSON (e.g. a proxy's 502 page). */
  readonly code: ErrorCode | "unexpected_response";
  readonly status: number;
  /** With `invalid_request`: the offending field, e.g. `plan.rates.MATLAB`. */
  readonly field: string | undefined;
  /** The whole error body (extra fields such as `expected_seq` included). */
  readonly body: unknown;

  constructor(status: number, body: unknown, what: string) {
    const known = isErrorBody(body);
    super(`${what}: ${status} ${known ? `${body.error}: ${body.message}` : String(body).slice(0, 200)}`);
    this.name = "TallyApiError";
    this.status = status;
    this.body = body;
    this.code = known ? body.error : "unexpected_response";
    this.field = known && typeof body.field === "string" ? body.field : undefined;
  }
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === "object" && body !== null && typeof (body as ErrorBody).error === "string" && typeof (body as ErrorBody).message === "string";
}

/** The data of a successful answer, or a thrown `TallyApiError` for an error answer. */
export function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(result: R): NonNullable<R["data"]> {
  if (result.response.ok && result.data !== undefined) return result.data as NonNullable<R["data"]>;
  throw new TallyApiError(result.response.status, result.error ?? result.data, URL.canParse(result.response.url) ? new URL(result.response.url).pathname : "the edge");
}
