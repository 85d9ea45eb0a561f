// The one error type of the pricing engine: a stable `code` the edge maps to an HTTP answer.

export type PricingErrorCode =
  | "invalid_plan" | "invalid_input" | "no_plan" | "before_contract_start" | "not_a_period_start";

export class PricingError extends Error {
  readonly code: PricingErrorCode;
  constructor(code: PricingErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
