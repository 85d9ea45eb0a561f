// Public API of the pricing engine (DESIGN §5–§7): pure functions of plain data, used by the
// edge's ContractDO for live balances and statements and by the collector for offline estimates.
export { parsePlan, planSchema, MODELS, type Plan, type PlanResult, type Model } from "./plan-schema.ts";
export { PricingError, type PricingErrorCode } from "./errors.ts";
export type { PricingInput, ContractInput, PlanVersion, GrantInput, UsageInterval } from "./input.ts";
export type { Statement, StatementLine, LineKind, Balance, BalanceGrant } from "./statement-shape.ts";
export { periodAt, periodByIndex, periodIndexAt, periodStarting, periodsBetween, periodCloseAt, type Period, type PeriodContract } from "./periods.ts";
export { pricingTerms, type PricingTerms } from "./terms.ts";
export { billedMs, rateNextInterval, rateSession, rateIntervals, type RatedPiece, type SessionCursor } from "./rate.ts";
export { emptyLedger, ledgerFits, addPieces, removePieces, ledgerFromIntervals, type UsageLedger, type UsageBucket } from "./ledger.ts";
export { computeStatement, statementFromLedger } from "./statement.ts";
export { computeBalance, balanceFromLedger, DEFAULT_LOW_THRESHOLD_PCT } from "./balance.ts";
export { minorUnits } from "./currency.ts";
export { UNIT_DEN, formatUnits, unitsFromText } from "./units.ts";
